// "ModelVis: Visualize Attention": runs the model in modelvis.model over the selection (or the current
// line) with attention/run, then shows the attention panel beside the editor and paints the range.

import * as vscode from 'vscode';
import { AttentionRunParams, AttentionRunRequest, ErrorCodes, TooManyTokensData } from '../common/protocol';
import { errorMessage, HostResponseError, isCancellation } from '../common/errors';
import { HostClient } from '../host/hostClient';
import { ModelService } from '../models/modelService';
import { pickModelForVisualization } from '../models/useModel';
import { AttentionPanel } from './attentionPanel';
import { chooseText } from './attentionLogic';
import { EditorAttention } from './editorAttention';
import { resolveModelOrBuiltin } from '../training/builtin';

/** The most text sent in one run; the host refuses oversized input with its own message too. */
const MAX_TEXT = 100_000;

/** Registers the command, the panel, the editor decorations, the status bar and the hover. */
export function registerAttention(extensionUri: vscode.Uri, host: HostClient, models: ModelService): vscode.Disposable[] {
  const panel = new AttentionPanel(extensionUri, host);
  const editor = new EditorAttention(host, panel);
  return [
    panel,
    editor,
    // An encoder-decoder's target box: the same selection again with the decoder text the user typed.
    panel.onDidRequestTarget(({ ctx, target }) =>
      void run(host, panel, editor, ctx.run.model.path, ctx.text, ctx.uri, ctx.baseOffset, ctx.run.truncatedFrom ? ctx.run.n : undefined, target),
    ),
    panel.onDidRequestRerun((ctx) =>
      void run(host, panel, editor, ctx.run.model.path, ctx.text, ctx.uri, ctx.baseOffset, ctx.run.truncatedFrom ? ctx.run.n : undefined, ctx.run.target ? '' : undefined),
    ),
    vscode.commands.registerCommand('modelvis.visualizeAttention', () => visualizeAttention(host, models, panel, editor)),
    vscode.commands.registerCommand('modelvis.clearAttention', () => editor.clear()),
    vscode.commands.registerCommand('modelvis.cycleAttentionHead', () => editor.cycleHead()),
    vscode.languages.registerHoverProvider([{ scheme: 'file' }, { scheme: 'untitled' }, { scheme: 'vscode-remote' }], {
      provideHover: (doc, pos, token) => editor.provideHover(doc, pos, token),
    }),
  ];
}

export async function visualizeAttention(host: HostClient, models: ModelService, panel: AttentionPanel, decorations: EditorAttention): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('ModelVis: open a file and select the text to visualize.');
    return;
  }
  const doc = editor.document;
  const selection = editor.selections.find((s) => !s.isEmpty);
  const line = doc.lineAt(editor.selection.active.line);
  const range = selection ? new vscode.Range(selection.start, selection.end) : line.range;
  const text = chooseText(selection ? doc.getText(selection) : undefined, line.text);
  if (!text.trim()) {
    void vscode.window.showInformationMessage('ModelVis: select the text whose attention you want to see (the current line is empty).');
    return;
  }
  if (text.length > MAX_TEXT) {
    void vscode.window.showWarningMessage(`ModelVis: the selection has ${text.length} characters; select at most ${MAX_TEXT}.`);
    return;
  }

  // modelvis.model, or the built-in model when it is empty (issue 8; trained once if needed).
  const model = await resolveModelOrBuiltin(host, models, askForModel);
  if (!model) return;
  await run(host, panel, decorations, model, text, doc.uri, doc.offsetAt(range.start));
}

async function run(
  host: HostClient,
  panel: AttentionPanel,
  decorations: EditorAttention,
  model: string,
  text: string,
  uri: vscode.Uri,
  baseOffset: number,
  maxTokens?: number,
  target?: string,
): Promise<void> {
  const modelName = model.split(/[\\/]/).filter(Boolean).pop() ?? model;
  panel.showRunning(text, modelName);
  let limit: number | undefined;
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `ModelVis: attention of ${modelName}`, cancellable: true },
    async (progress, token) => {
      progress.report({ message: 'running the model…' });
      try {
        const params: AttentionRunParams = { model, text };
        if (maxTokens) params.maxTokens = maxTokens;
        // Encoder-decoders: the decoder's text; without it the host uses the model's own greedy output.
        if (target) params.target = target;
        const result = await host.request(AttentionRunRequest, params, { token, progress });
        host.log(`attention/run: ${result.runId}, ${result.n} tokens, ${result.model.name} (${result.model.layers} layers × ${result.model.heads} heads)`);
        const ctx = { run: result, text, uri, baseOffset, layersDone: 1 };
        panel.setRun(ctx);
        decorations.activate(ctx);
        if (result.truncatedFrom) {
          void vscode.window.showInformationMessage(`ModelVis: showing the first ${result.n} of ${result.truncatedFrom} tokens.`);
        }
      } catch (e) {
        if (isCancellation(e)) {
          panel.showError('The run was cancelled.');
          return;
        }
        host.log(`attention/run → ${errorMessage(e)}`);
        const data = e instanceof HostResponseError && e.code === ErrorCodes.UserError ? (e.data as TooManyTokensData | undefined) : undefined;
        if (data?.limit) {
          limit = data.limit;
          panel.showError(errorMessage(e));
          return;
        }
        panel.showError(errorMessage(e));
        host.showError(e);
      }
    },
  );
  if (limit) {
    const use = `Use first ${limit} tokens`;
    const choice = await vscode.window.showWarningMessage(`ModelVis: the text is longer than ${modelName} reads (at most ${limit} tokens).`, use);
    if (choice === use) await run(host, panel, decorations, model, text, uri, baseOffset, limit, target);
  }
}

/** No model set: say so and offer a folder picker or the Models view (never a stack trace). */
async function askForModel(): Promise<void> {
  const choose = 'Choose model…';
  const openView = 'Open Models view';
  const choice = await vscode.window.showWarningMessage(
    'ModelVis: no model is set for visualization (setting modelvis.model). Choose a checkpoint folder (config.json and *.safetensors) or a .gguf file.',
    choose,
    openView,
  );
  if (choice === choose) {
    await pickModelForVisualization();
  } else if (choice === openView) {
    await vscode.commands.executeCommand('modelvis.models.focus');
  }
}
