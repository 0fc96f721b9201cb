// The live loss curve of a training run started in this window: records every train/loss notification (from the
// first step, so opening the panel late still shows the whole curve) as a run of the Runs panel — the same uPlot
// charts, smoothing slider and axes as an event file's run. (The host also writes the run's event file beside the
// model, so once trained the model folder is a run in the Runs view like any other.)

import * as vscode from 'vscode';
import { formatInteger } from '../common/format';
import { TrainLoss, TrainLossParams } from '../common/protocol';
import type { RunsViewState, RunsWebviewMessage, RunView } from '../common/runsView';
import { HostClient } from '../host/hostClient';
import { ModelVisPanel } from '../webview/modelVisPanel';
import { RUNS_VIEW_TYPE } from '../runs/runPanel';

export type CurveStatus = 'waiting' | 'training' | 'done' | 'cancelled' | 'failed';

const POST_INTERVAL_MS = 200;

const STATUS_TEXT: Record<CurveStatus, string> = {
  waiting: 'No training has started in this window yet.',
  training: 'Training…',
  done: 'Done.',
  cancelled: 'Cancelled.',
  failed: 'Failed.',
};

/** TensorBoard-style tags of the run: the per-step loss and the learning rate. */
const LOSS = 'train/loss';
const LEARNING_RATE = 'train/learning_rate';

export class LossCurves extends ModelVisPanel<{ type: 'state'; state: RunsViewState }, RunsWebviewMessage> {
  private title = 'No training yet';
  private steps = 0;
  private status: CurveStatus = 'waiting';
  private note: string | undefined;
  private tags: RunView['tags'] = {};
  private ema = NaN;
  private revision = 0;
  private run: string | undefined;
  private expecting = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(extensionUri: vscode.Uri, host: HostClient) {
    super(extensionUri, {
      viewType: RUNS_VIEW_TYPE,
      title: 'ModelVis: Loss Curve',
      page: 'runs',
      styleDir: ['dist', 'webview'],
      column: vscode.ViewColumn.Beside,
      preserveFocus: true,
    });
    this.disposables.push(host.onNotification(TrainLoss, (p) => this.add(p)));
  }

  /** A training request is about to be sent: the next run the host reports is this one. */
  begin(title: string, steps: number): void {
    this.title = title;
    this.steps = steps;
    this.status = 'training';
    this.note = undefined;
    this.clear();
    this.run = undefined;
    this.expecting = true;
    this.schedulePost(true);
  }

  finish(status: Exclude<CurveStatus, 'waiting' | 'training'>, note?: string): void {
    this.expecting = false;
    this.status = status;
    this.note = note;
    this.schedulePost(true);
  }

  private clear(): void {
    this.tags = { [LOSS]: { steps: [], values: [], wallTimes: [] }, [LEARNING_RATE]: { steps: [], values: [], wallTimes: [] } };
    this.ema = NaN;
    this.revision++;
  }

  private add(p: TrainLossParams): void {
    if (!p || typeof p.step !== 'number' || typeof p.run !== 'string') return;
    if (p.run !== this.run) {
      if (!this.expecting) return; // a run this window did not start (or an old one)
      this.run = p.run;
      this.expecting = false;
      this.clear();
    }
    const now = Date.now() / 1000;
    const push = (tag: string, value: number) => {
      const s = this.tags[tag];
      s.steps.push(p.step);
      s.values.push(Number.isFinite(value) ? value : Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity');
      s.wallTimes.push(now);
    };
    push(LOSS, p.loss);
    if (typeof p.learningRate === 'number') push(LEARNING_RATE, p.learningRate);
    if (Number.isFinite(p.loss)) this.ema = Number.isNaN(this.ema) ? p.loss : 0.9 * this.ema + 0.1 * p.loss;
    if (typeof p.steps === 'number' && p.steps > 0) this.steps = p.steps;
    this.schedulePost();
  }

  /** The status line: the last step and the loss's moving average (0.9, as the trainer's own progress message). */
  private statusLine(): string {
    const losses = this.tags[LOSS]?.steps ?? [];
    if (losses.length === 0) return this.status === 'training' ? STATUS_TEXT.training : STATUS_TEXT[this.status];
    const last = losses[losses.length - 1];
    const line = `step ${formatInteger(last)} of ${formatInteger(this.steps)}, loss ${Number.isNaN(this.ema) ? '?' : this.ema.toFixed(3)} (moving average)`;
    return this.status === 'training' ? line : `${line}. ${this.note ?? STATUS_TEXT[this.status]}`;
  }

  private state(): RunsViewState {
    const runs: RunView[] = this.status === 'waiting' ? [] : [{ path: this.run ?? 'training', name: this.title, tags: this.tags, histograms: [], problems: [], notes: [] }];
    return { status: 'ready', runs, histograms: {}, revision: this.revision, following: this.status === 'training', statusLine: this.statusLine() };
  }

  show(): void {
    this.open();
  }

  protected onReady(): void {
    this.postState();
  }

  protected onMessage(m: RunsWebviewMessage): void {
    if (m.type === 'reload') this.postState();
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
    // A new revision per post: the webview redraws the charts from the whole series (the run only grows).
    this.post({ type: 'state', state: { ...this.state(), revision: ++this.revision } });
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
