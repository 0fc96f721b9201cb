// The CNN feature-map panel (issue 7): one webview, reused for each picture. It answers the webview's
// requests from the host with the run's id, and releases the previous run on the host when a new one
// replaces it (or the panel is closed).

import * as vscode from 'vscode';
import { FEATURE_VIEW_REQUESTS, FeaturesRelease, FeaturesRunResult, FeaturesVisualize, FeaturesVisualizeStep, PreprocessingParams, ViewRequestMessage, ViewResponseMessage } from '../common/protocol';
import { HostClient } from '../host/hostClient';
import { ModelVisPanel } from '../webview/modelVisPanel';
import { answerViewRequest } from '../webview/viewRequests';
import { FromFeaturesWebview, ToFeaturesWebview } from './featuresLogic';

export const FEATURES_VIEW_TYPE = 'modelvis.features';

export class FeaturesPanel extends ModelVisPanel<ToFeaturesWebview, FromFeaturesWebview> {
  /** What the page shows (sent again when it reloads). */
  private screen: ToFeaturesWebview | undefined;
  private run: FeaturesRunResult | undefined;
  /** The running feature visualisation's stop button. */
  private visualizing: vscode.CancellationTokenSource | undefined;
  /** Set by the command: the user asked to run again with other preprocessing (null: the model's own). */
  onRerun: ((preprocessing: PreprocessingParams | null) => void) | undefined;
  /** Set by the command: the user asked for the run the host lost when it restarted. */
  onRunAgain: (() => void) | undefined;

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
    this.disposables.push(
      host.onNotification(FeaturesVisualizeStep, (p) => {
        if (p.runId === this.run?.runId) this.post({ type: 'visualizeStep', ...p });
      }),
      host.onDidRestart(() => {
        const run = this.run;
        const screen = this.screen;
        if (!run || screen?.type !== 'run' || !this.isOpen) return;
        this.run = undefined;
        this.show({
          type: 'runGone',
          image: screen.image,
          model: run.model.name,
          message: `The ModelVis host restarted, so the feature maps of ${run.model.name} on ${screen.image} are gone. Run it again to see them.`,
        });
      }),
    );
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

  protected onMessage(m: FromFeaturesWebview): void {
    if (m.type === 'rerun') this.onRerun?.(m.preprocessing);
    else if (m.type === 'runAgain') this.onRunAgain?.();
    else if (m.type === 'stopVisualize') this.visualizing?.cancel();
  }

  protected onRequest(m: ViewRequestMessage): Promise<ViewResponseMessage> {
    return answerViewRequest(FEATURE_VIEW_REQUESTS, m, this.run?.runId, (type, params) => {
      if (type !== FeaturesVisualize) return this.host.request(type, params);
      // A visualisation runs until its steps are done or Stop cancels it (the host then answers with the image so far).
      this.visualizing?.cancel();
      const stop = (this.visualizing = new vscode.CancellationTokenSource());
      return this.host.request(type, params, { timeoutMs: 3_600_000, token: stop.token }).finally(() => stop.dispose());
    }, (line) => this.host.log(line));
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
