// Pure helpers of the attribution tab and its editor colours (issue 17): signed scores into intensity buckets of
// two theme colours, the tab's request from its choices, and the JSON a user exports.

import type { AttributionMethod, AttributionRunParams, AttributionRunResult } from '../common/protocol';

export const ATTRIBUTION_METHODS: Array<{ id: AttributionMethod; label: string }> = [
  { id: 'ig', label: 'Integrated gradients' },
  { id: 'ixg', label: 'Input × gradient' },
  { id: 'saliency', label: 'Saliency (‖gradient‖)' },
  { id: 'occlusion', label: 'Occlusion (no gradients)' },
];

/** Intensity buckets per sign in the editor (colours modelvis.attributionPositive1..3, modelvis.attributionNegative1..3). */
export const SIGNED_BUCKETS = 3;

/**
 * Each score's bucket: 0..SIGNED_BUCKETS−1 by |score| against the largest |score| (strongest last), with its sign;
 * null for a zero or non-finite score (left unpainted).
 */
export function signedBuckets(scores: ArrayLike<number>, buckets = SIGNED_BUCKETS): Array<{ bucket: number; negative: boolean } | null> {
  let max = 0;
  for (let i = 0; i < scores.length; i++) if (Number.isFinite(scores[i])) max = Math.max(max, Math.abs(scores[i]));
  return Array.from(scores, (s) => {
    if (!Number.isFinite(s) || s === 0 || max === 0) return null;
    return { bucket: Math.min(buckets - 1, Math.floor((Math.abs(s) / max) * buckets)), negative: s < 0 };
  });
}

/** What the tab chose: the method, the target (next token at a position, a typed token, or the difference of two), IG's steps and baseline. */
export interface AttributionChoices {
  method: AttributionMethod;
  target: 'prediction' | 'token' | 'difference';
  /** −1: the last token. */
  position: number;
  token: string;
  contrast: string;
  steps: number;
  baseline: 'zero' | 'token';
}

/** The attribution/run params (without the run id) for the choices; throws a message for the user when a typed token is missing. */
export function attributionParams(c: AttributionChoices, n: number): Omit<AttributionRunParams, 'runId'> {
  const params: Omit<AttributionRunParams, 'runId'> = { method: c.method, position: c.position < 0 || c.position >= n ? n - 1 : c.position };
  if (c.target !== 'prediction') {
    if (!c.token.trim()) throw new Error('Type the token whose logit to explain.');
    params.targetText = c.token;
  }
  if (c.target === 'difference') {
    if (!c.contrast.trim()) throw new Error('Type the second token: the difference is logit(first) − logit(second).');
    params.contrastText = c.contrast;
  }
  if (c.method === 'ig') {
    params.steps = c.steps;
    params.baseline = c.baseline;
  }
  return params;
}

/** The exported JSON: the CLI's shape (`attribute --json`) plus what the panel shows. */
export function attributionJson(r: AttributionRunResult, model: string, text: string): object {
  return {
    model,
    text,
    method: r.method,
    position: r.position,
    target: r.target,
    target_token: r.targetToken,
    contrast: r.contrast,
    contrast_token: r.contrastToken,
    value: r.value,
    tokens: r.tokens,
    scores: r.scores,
    ...(r.completeness ? { completeness: r.completeness, baseline_token: r.baselineToken } : {}),
  };
}

/** Completeness as the tab says it: Σ attributions vs f(x) − f(baseline), and the relative error. */
export function completenessText(r: AttributionRunResult): string | undefined {
  const k = r.completeness;
  if (!k) return undefined;
  const pct = k.relativeError * 100;
  return `Σ attributions ${k.sum.toPrecision(5)} vs f(x) − f(baseline) ${k.difference.toPrecision(5)}: completeness error ${pct < 0.01 ? pct.toExponential(1) : pct.toFixed(2)} % (${k.steps} steps)`;
}
