// The CNN feature-map panel (issue 7): one webview, reused for each picture. It answers the webview's
// requests from the host with the run's id, and releases the previous run on the host when a new one
// replaces it (or the panel is closed).

import * as vscode from 'vscode';
import { FEATURE_VIEW_REQUESTS, FeaturesRelease, FeaturesRunResult, ViewRequestMessage, ViewResponseMessage } from '../common/protocol';
import { HostClient } from '../host/hostClient';
import { ModelVisPanel } from '../webview/modelVisPanel';
import { answerViewRequest } from '../webview/viewRequests';
import { FromFeaturesWebview, ToFeaturesWebview } from './featuresLogic';

export const FEATURES_VIEW_TYPE = 'modelvis.features';

export class FeaturesPanel extends ModelVisPanel<ToFeaturesWebview, FromFeaturesWebview> {
  /** What the page shows (sent again when it reloads). */
  private screen: ToFeaturesWebview | undefined;
  private run: FeaturesRunResult | undefined;

  constructor(
    extensionUri: vscode.Uri,
    private readonly host: HostClient,
  ) {
    super(extensionUri, {
      viewType: FEATURES_VIEW_TYPE,
      title: 'CNN Feature Maps',
      page: 'features',
      styleDir: ['media', 'features'],
      column: vscode.ViewColumn.Beside,
      retainContextWhenHidden: true,
    });
  }

  showRunning(image: string, model: string): void {
    this.show({ type: 'running', image, model });
  }

  showError(image: string, model: string, message: string): void {
    this.show({ type: 'runError', image, model, message });
  }

  setRun(image: string, run: FeaturesRunResult): void {
    const old = this.run;
    this.run = run;
    if (old && old.runId !== run.runId) this.release(old);
    this.show({ type: 'run', image, run });
  }

  private show(message: ToFeaturesWebview): void {
    this.open();
    this.screen = message;
    this.post(message);
  }

  protected onReady(): void {
    if (this.screen) this.post(this.screen);
  }

  protected onRequest(m: ViewRequestMessage): Promise<ViewResponseMessage> {
    return answerViewRequest(FEATURE_VIEW_REQUESTS, m, this.run?.runId, (type, params) => this.host.request(type, params), (line) => this.host.log(line));
  }

  protected onClosed(): void {
    if (this.run) this.release(this.run);
    this.run = undefined;
    this.screen = undefined;
  }

  private release(run: FeaturesRunResult): void {
    void this.host.request(FeaturesRelease, { runId: run.runId }).catch(() => undefined);
  }
}
