// The run panel: one chart per scalar tag (several runs overlaid), histograms as distributions over steps.
// Fed by runs/scalars; follows the runs' files as they grow (runs/scalars with the cursor of the last answer,
// so a growing event file is read on from where it stopped, not again from the start).

import * as path from 'path';
import * as vscode from 'vscode';
import { errorMessage, isCancellation } from '../common/errors';
import { RunCursor, RunScalarsResult, RunsHistograms, RunsScalars } from '../common/protocol';
import { appendScalars } from '../common/runsChart';
import { histogramKey, RunsWebviewMessage, RunView } from '../common/runsView';
import { HostClient } from '../host/hostClient';
import { RunsStatePanel } from './runsStatePanel';

export const RUNS_VIEW_TYPE = 'modelvis.runs';

export class RunPanels implements vscode.Disposable {
  private readonly panels = new Map<string, RunPanel>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly host: HostClient,
  ) {}

  /** Opens (or reveals) the panel of these runs overlaid; the same set of runs reuses its panel. */
  open(runs: Array<{ path: string; name: string }>): void {
    const key = runs.map((r) => r.path).sort().join('\n');
    const existing = this.panels.get(key);
    if (existing) {
      existing.reveal();
      return;
    }
    this.panels.set(key, new RunPanel(this.extensionUri, this.host, runs, () => this.panels.delete(key)));
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.dispose();
  }
}

class RunPanel extends RunsStatePanel {
  private readonly cursors = new Map<string, RunCursor>();
  private readonly watchers: vscode.Disposable[] = [];
  private followTimer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    extensionUri: vscode.Uri,
    private readonly host: HostClient,
    private readonly runs: Array<{ path: string; name: string }>,
    private readonly onDispose: () => void,
  ) {
    const title = runs.length === 1 ? `Run: ${runs[0].name}` : `Runs: ${runs.length} overlaid`;
    super(extensionUri, { viewType: RUNS_VIEW_TYPE, page: 'runs', title, styleDir: ['dist', 'webview'] }, { status: 'loading', runs: [], histograms: {}, revision: 0, following: true });
    for (const r of runs) {
      // The run folder's own files (a run may also be one log file).
      const base = vscode.Uri.file(/\.(csv|jsonl|ndjson)$|tfevents/.test(path.basename(r.path)) ? path.dirname(r.path) : r.path);
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(base, '*'));
      const changed = () => this.scheduleFollow();
      watcher.onDidChange(changed);
      watcher.onDidCreate(changed);
      this.watchers.push(watcher);
    }
    void this.load();
  }

  protected onMessage(m: RunsWebviewMessage): void {
    if (m.type === 'reload') void this.load();
    else if (m.type === 'loadHistogram' && typeof m.run === 'string' && typeof m.tag === 'string') void this.loadHistogram(m.run, m.tag);
  }

  private async load(): Promise<void> {
    this.cancel.cancel();
    this.cancel = new vscode.CancellationTokenSource();
    const token = this.cancel.token;
    this.cursors.clear();
    this.update({ status: 'loading', error: undefined, histograms: {} });
    try {
      const results = await Promise.all(
        this.runs.map((r) => this.host.request(RunsScalars, { path: r.path }, { token, timeoutMs: 300_000 })),
      );
      if (token.isCancellationRequested || this.isDisposed) return;
      const runs: RunView[] = results.map((res, i) => {
        this.cursors.set(this.runs[i].path, res.cursor);
        return toRunView(this.runs[i], res);
      });
      this.update({ status: 'ready', runs, revision: this.state.revision + 1 });
    } catch (e) {
      if (isCancellation(e) || this.isDisposed) return;
      this.host.log(`runs/scalars: ${errorMessage(e)}`);
      this.update({ status: 'error', error: errorMessage(e) });
    }
  }

  /** Files changed: read on from the cursors once things settle (a training loop writes often). */
  private scheduleFollow(): void {
    if (this.followTimer || this.isDisposed || this.state.status !== 'ready') return;
    this.followTimer = setTimeout(() => {
      this.followTimer = undefined;
      this.reading = this.reading.then(() => this.follow());
    }, 750);
  }

  private async follow(): Promise<void> {
    const token = this.cancel.token;
    const state = this.state;
    let runs = state.runs;
    let changed = false;
    for (const r of this.runs) {
      const cursor = this.cursors.get(r.path);
      if (!cursor) continue;
      try {
        const res = await this.host.request(RunsScalars, { path: r.path, cursor }, { token });
        if (token.isCancellationRequested || this.isDisposed) return;
        if (res.reset.length > 0) {
          // A log rewritten rather than appended to (Lightning's metrics.csv): read the whole run again.
          void this.load();
          return;
        }
        this.cursors.set(r.path, res.cursor);
        if (Object.keys(res.tags).length === 0 && res.histograms.length === 0 && res.problems.length === 0) continue;
        changed = true;
        runs = runs.map((v) =>
          v.path !== r.path
            ? v
            : {
                ...v,
                tags: appendScalars(v.tags, res.tags),
                histograms: mergeHistogramCounts(v.histograms, res.histograms),
                problems: v.problems.concat(res.problems.map(problemText)),
              },
        );
      } catch (e) {
        if (isCancellation(e) || this.isDisposed) return;
        this.host.log(`runs/scalars (following ${r.path}): ${errorMessage(e)}`);
      }
    }
    if (changed) {
      // Histograms shown are stale now: drop them so the webview asks again.
      this.update({ runs, histograms: {}, revision: state.revision + 1 });
    }
  }

  private loadHistogram(run: string, tag: string): Promise<void> {
    return this.loadHistogramInto(histogramKey(run, tag), (token) => this.host.request(RunsHistograms, { path: run, tag }, { token }));
  }

  dispose(): void {
    if (this.isDisposed) return;
    if (this.followTimer) clearTimeout(this.followTimer);
    for (const w of this.watchers) w.dispose();
    this.onDispose();
    super.dispose();
  }
}

function problemText(p: { file: string; offset: number; message: string }): string {
  return `${path.basename(p.file)} at byte ${p.offset}: ${p.message}`;
}

function toRunView(run: { path: string; name: string }, res: RunScalarsResult): RunView {
  return { path: run.path, name: run.name, tags: res.tags, histograms: res.histograms, problems: res.problems.map(problemText), notes: res.notes };
}

function mergeHistogramCounts(held: RunView['histograms'], added: RunScalarsResult['histograms']): RunView['histograms'] {
  const out = held.map((h) => ({ ...h }));
  for (const a of added) {
    const existing = out.find((h) => h.tag === a.tag);
    if (existing) existing.count += a.count;
    else out.push({ ...a });
  }
  return out;
}
