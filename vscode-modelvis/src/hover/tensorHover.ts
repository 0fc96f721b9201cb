// Hover preview: a string or dotted word naming a tensor of the model in use shows its shape,
// dtype, statistics and a small heatmap. The host is asked only when the word looks like a tensor
// name and modelvis.model is set; the model's names are cached.

import * as vscode from 'vscode';
import { formatCount, formatInteger, formatNumber, formatPercent, formatShape } from '../common/format';
import { escapeHtml, escapeMarkdown } from '../common/html';
import { TensorImage, TensorInspection, TensorRef, TensorsImage, TensorsInspect } from '../common/protocol';
import { candidateAt, looksLikeTensorName, resolveTensorName } from '../common/tensorNames';
import { HostClient } from '../host/hostClient';
import { ModelService } from '../models/modelService';

interface Preview {
  inspection: TensorInspection;
  image?: TensorImage;
}

const CACHE_SIZE = 64;

export class TensorHoverProvider implements vscode.HoverProvider {
  private readonly previews = new Map<string, Promise<Preview>>();

  constructor(
    private readonly host: HostClient,
    private readonly models: ModelService,
  ) {
    models.onDidChange(() => this.previews.clear());
  }

  async provideHover(document: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const line = document.lineAt(position.line).text;
    if (line.length > 2000) return undefined;
    const candidate = candidateAt(line, position.character);
    if (!candidate) return undefined;
    const modelPath = await this.models.modelInUse({ discoverIfNeeded: false });
    if (!modelPath) return undefined;

    let tensor: TensorRef | undefined;
    const loaded = this.models.loadedNameIndex(modelPath);
    if (loaded) {
      const name = resolveTensorName(candidate.text, loaded.names, loaded.suffixes);
      tensor = name ? loaded.byName.get(name) : undefined;
    } else {
      if (!looksLikeTensorName(candidate.text)) return undefined;
      try {
        tensor = await this.models.findTensor(modelPath, candidate.text);
      } catch (e) {
        this.host.log(`hover: could not read ${modelPath}: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      }
    }
    if (!tensor || token.isCancellationRequested) return undefined;

    const range = new vscode.Range(position.line, candidate.start, position.line, candidate.end);
    let preview: Preview | undefined;
    let error: string | undefined;
    try {
      preview = await this.preview(modelPath, tensor);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    if (token.isCancellationRequested) return undefined;
    return new vscode.Hover(hoverMarkdown(modelPath, tensor, preview, error), range);
  }

  private preview(modelPath: string, tensor: TensorRef): Promise<Preview> {
    const key = `${modelPath}\n${tensor.name}`;
    let p = this.previews.get(key);
    if (!p) {
      p = (async () => {
        const inspection = await this.host.request(TensorsInspect, { path: modelPath, tensor: tensor.name, bins: 16 });
        let image: TensorImage | undefined;
        if (inspection.readable !== false) {
          image = await this.host
            .request(TensorsImage, { path: modelPath, tensor: tensor.name, maxSize: 128, reduce: 'maxabs' })
            .catch(() => undefined);
        }
        return { inspection, image };
      })();
      p.catch(() => this.previews.delete(key));
      this.previews.set(key, p);
      if (this.previews.size > CACHE_SIZE) this.previews.delete(this.previews.keys().next().value!);
    }
    return p;
  }
}

function hoverMarkdown(modelPath: string, tensor: TensorRef, preview: Preview | undefined, error: string | undefined): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.supportHtml = true;
  md.isTrusted = { enabledCommands: ['modelvis.openTensor'] };
  const params = tensor.shape.reduce((p, d) => p * d, 1);
  // Names, dtypes and notes come from the file: escaped as Markdown, so none can make a link (this hover may run openTensor).
  md.appendMarkdown(`**${escapeMarkdown(tensor.name)}**  \n`);
  md.appendMarkdown(`${escapeMarkdown(tensor.dtype)} · ${formatShape(tensor.shape)} · ${formatCount(params)} parameters  \n`);
  const s = preview?.inspection.stats;
  if (s) {
    md.appendMarkdown(
      `min ${formatNumber(s.min)} · max ${formatNumber(s.max)} · mean ${formatNumber(s.mean)} · std ${formatNumber(s.std)}  \n` +
        `zeros ${formatPercent(s.zeroFraction)}` +
        (s.nan || s.inf ? ` · NaN ${formatInteger(s.nan)} · Inf ${formatInteger(s.inf)}` : '') +
        '\n\n',
    );
  } else if (preview?.inspection.note) {
    md.appendMarkdown(`${escapeMarkdown(preview.inspection.note)}\n\n`);
  } else if (error) {
    md.appendMarkdown(`${escapeMarkdown(error)}\n\n`);
  }
  const image = preview?.image;
  if (image && /^[A-Za-z0-9+/=]+$/.test(image.png)) {
    // Whole-pixel enlargement up to about 200 px, so a small tensor is still legible.
    const scale = Math.max(1, Math.min(8, Math.floor(200 / Math.max(image.width, image.height))));
    md.appendMarkdown(
      `<img src="data:image/png;base64,${image.png}" width="${image.width * scale}" height="${image.height * scale}" alt="heatmap of ${escapeHtml(tensor.name)}">\n\n`,
    );
  }
  const args = encodeURIComponent(JSON.stringify([{ modelPath, tensor: tensor.name }]));
  md.appendMarkdown(`[Open in tensor panel](command:modelvis.openTensor?${args} "Statistics, histogram and full heatmap")`);
  return md;
}
