// A panel that shows one state object: the extension keeps the state and posts it as
// {type: 'state', state} whenever it changes and whenever the webview (re)loads. The tensor, run and
// compare panels are state panels; closing one disposes it.

import * as vscode from 'vscode';
import { ModelVisPanel, PanelPage } from './modelVisPanel';

export abstract class StatePanel<S extends object, M extends { type: string }> extends ModelVisPanel<{ type: 'state'; state: S }, M> {
  private current: S;

  constructor(extensionUri: vscode.Uri, page: PanelPage, initial: S) {
    super(extensionUri, page);
    this.current = initial;
    this.open();
  }

  get state(): S {
    return this.current;
  }

  protected update(patch: Partial<S>): void {
    this.current = { ...this.current, ...patch };
    this.post({ type: 'state', state: this.current });
  }

  reveal(): void {
    this.open();
  }

  protected onReady(): void {
    this.post({ type: 'state', state: this.current });
  }

  protected onClosed(): void {
    this.dispose();
  }
}
