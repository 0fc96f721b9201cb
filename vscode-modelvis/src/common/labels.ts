// Text of the Models view's rows (pure).

import { formatCount, formatDtypes, formatInteger, formatShape } from './format';
import type { ModelEntry, ModelTree, TensorRef, TreeNode } from './protocol';

/** "124.4M params · F32 · GPT2LMHeadModel" */
export function modelDescription(entry: ModelEntry, tree?: ModelTree): string {
  const parts: string[] = [];
  if (tree) {
    parts.push(`${formatCount(tree.totalParameters)} params`);
    const dtypes = formatDtypes(tree.dtypes ?? {});
    if (dtypes) parts.push(dtypes);
  }
  const arch = tree?.architecture ?? entry.architecture ?? tree?.modelType ?? entry.modelType;
  if (arch) parts.push(arch);
  return parts.join(' · ');
}

export function modelTooltip(entry: ModelEntry, tree?: ModelTree): string {
  const lines = [entry.name, entry.path];
  const source =
    { workspace: 'workspace folder', root: 'modelvis.modelRoots', 'hf-cache': 'Hugging Face cache', ollama: 'Ollama', 'lm-studio': 'LM Studio', 'llama.cpp': 'llama.cpp cache' }[
      entry.source
    ] ?? entry.source;
  lines.push(`Found in: ${source}`);
  const arch = tree?.architecture ?? entry.architecture;
  if (arch) lines.push(`Architecture: ${arch}${(tree?.modelType ?? entry.modelType) ? ` (${tree?.modelType ?? entry.modelType})` : ''}`);
  if (tree) {
    lines.push(`Parameters: ${formatInteger(tree.totalParameters)}`);
    const dtypes = formatDtypes(tree.dtypes ?? {});
    if (dtypes) lines.push(`Dtype: ${dtypes}`);
    if (tree.files?.length) lines.push(`Files: ${tree.files.length}`);
  }
  if (entry.error) lines.push(`Error: ${entry.error}`);
  return lines.join('\n');
}

/** "F32 · 768×3072 · 2.36M"; a 1-D tensor's size is its shape, so it is not repeated. */
export function tensorDescription(t: TensorRef): string {
  const parts = [t.dtype, formatShape(t.shape)];
  if (t.shape.length >= 2) parts.push(formatCount(t.shape.reduce((p, d) => p * d, 1)));
  if (!t.readable) parts.push('not shown');
  return parts.join(' · ');
}

export function tensorTooltip(t: TensorRef): string {
  const count = t.shape.reduce((p, d) => p * d, 1);
  const lines = [t.name, `${t.dtype} [${t.shape.join(', ')}] · ${formatInteger(count)} parameters`, t.file];
  if (!t.readable) lines.push(`Values of ${t.dtype} tensors are not shown (F32, F16, BF16 and GGUF's Q4_0–Q8_0 and K-quant types are).`);
  return lines.join('\n');
}

export function moduleDescription(node: TreeNode): string {
  return `${formatCount(node.parameters)} params`;
}
