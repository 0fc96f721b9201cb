// The live loss curve: records every train/loss notification of the current training run (from the
// first step, so opening the panel late still shows the whole curve) and shows it in a small webview.

import * as vscode from 'vscode';
import { TrainLoss, TrainLossParams } from '../common/protocol';
import { HostClient } from '../host/hostClient';
import { ModelVisPanel } from '../webview/modelVisPanel';

export type CurveStatus = 'waiting' | 'training' | 'done' | 'cancelled' | 'failed';

/** What the webview draws (posted whole, at most a few times a second). */
export interface CurveState {
  title: string;
  steps: number;
  /** [step, loss] pairs. */
  points: Array<[number, number]>;
  status: CurveStatus;
  note?: string;
}

const POST_INTERVAL_MS = 200;

export class LossCurves extends ModelVisPanel<{ type: 'state'; state: CurveState }, never> {
  private state: CurveState = { title: 'No training yet', steps: 0, points: [], status: 'waiting' };
  private run: string | undefined;
  private expecting = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(extensionUri: vscode.Uri, host: HostClient) {
    super(extensionUri, {
      viewType: 'modelvis.lossCurve',
      title: 'ModelVis: Loss Curve',
      page: 'lossCurve',
      styleDir: ['media', 'training'],
      column: vscode.ViewColumn.Beside,
      preserveFocus: true,
    });
    this.disposables.push(host.onNotification(TrainLoss, (p) => this.add(p)));
  }

  /** A training request is about to be sent: the next run the host reports is this one. */
  begin(title: string, steps: number): void {
    this.state = { title, steps, points: [], status: 'training' };
    this.run = undefined;
    this.expecting = true;
    this.schedulePost();
  }

  finish(status: Exclude<CurveStatus, 'waiting' | 'training'>, note?: string): void {
    this.expecting = false;
    this.state = { ...this.state, status, note };
    this.schedulePost(true);
  }

  private add(p: TrainLossParams): void {
    if (!p || typeof p.step !== 'number' || typeof p.run !== 'string') return;
    if (p.run !== this.run) {
      if (!this.expecting) return; // a run this window did not start (or an old one)
      this.run = p.run;
      this.expecting = false;
      this.state = { ...this.state, points: [] };
    }
    this.state.points.push([p.step, p.loss]);
    if (typeof p.steps === 'number' && p.steps > 0) this.state.steps = p.steps;
    this.schedulePost();
  }

  show(): void {
    this.open();
  }

  protected onReady(): void {
    this.postState();
  }

  private schedulePost(now = false): void {
    if (!this.isOpen) return;
    if (now) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.postState();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.postState();
    }, POST_INTERVAL_MS);
  }

  private postState(): void {
    this.post({ type: 'state', state: this.state });
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    super.dispose();
  }
}

/** Shows "Show loss curve" beside a training progress notification (the notification itself cannot hold buttons). */
export function offerLossCurve(curves: LossCurves, message: string): void {
  void vscode.window.showInformationMessage(message, 'Show loss curve').then((choice) => {
    if (choice === 'Show loss curve') curves.show();
  });
}
