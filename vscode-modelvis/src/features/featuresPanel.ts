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

/** What a feature-map run was made of. */
export interface FeatureSource {
  image: vscode.Uri;
  model: string;
}

export class FeaturesPanel extends ModelVisPanel<ToFeaturesWebview, FromFeaturesWebview> {
  /** What the page shows (sent again when it reloads). */
  private screen: ToFeaturesWebview | undefined;
  private run: FeaturesRunResult | undefined;
  /** The picture and model of the run shown, to run again when the host lost it. */
  private source: FeatureSource | undefined;
  private lost: FeatureSource | undefined;
  private readonly rerunRequested = new vscode.EventEmitter<FeatureSource>();
  /** The user asked for the lost run again (the host restarted). */
  readonly onDidRequestRerun = this.rerunRequested.event;

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
      this.rerunRequested,
      host.onDidRestart(() => {
        const run = this.run;
        if (!run || !this.source || !this.isOpen) return;
        this.lost = this.source;
        this.run = undefined;
        const image = this.source.image.path.split('/').pop() ?? '';
        this.show({ type: 'runGone', image, model: run.model.name, message: `The ModelVis host restarted, so the feature maps of ${run.model.name} on ${image} are gone. Run it again to see them.` });
      }),
    );
  }

  showRunning(image: string, model: string): void {
    this.show({ type: 'running', image, model });
  }

  showError(image: string, model: string, message: string): void {
    this.show({ type: 'runError', image, model, message });
  }

  setRun(image: string, run: FeaturesRunResult, source: FeatureSource): void {
    const old = this.run;
    this.run = run;
    this.source = source;
    this.lost = undefined;
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

  protected onMessage(m: FromFeaturesWebview): void {
    if (m.type === 'rerun' && this.lost) this.rerunRequested.fire(this.lost);
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
