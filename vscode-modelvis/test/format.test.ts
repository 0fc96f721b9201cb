import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, formatCount, formatDtypes, formatInteger, formatNumber, formatPercent, formatShape } from '../src/common/format';

test('formatCount writes parameter counts like model cards', () => {
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(950), '950');
  assert.equal(formatCount(999.6), '1K');
  assert.equal(formatCount(1500), '1.5K');
  assert.equal(formatCount(124_439_808), '124M');
  assert.equal(formatCount(12_443_980), '12.4M');
  assert.equal(formatCount(2_359_296), '2.36M');
  assert.equal(formatCount(999_999), '1M');
  assert.equal(formatCount(7_241_732_096), '7.24B');
  assert.equal(formatCount(-2000), '-2K');
});

test('formatInteger groups digits', () => {
  assert.equal(formatInteger(124439808), '124,439,808');
  assert.equal(formatInteger(12), '12');
  assert.equal(formatInteger(-1234), '-1,234');
});

test('formatNumber keeps 4 significant digits, writes exponents when very small or large and names special values', () => {
  assert.equal(formatNumber(0), '0');
  assert.equal(formatNumber(0.123456), '0.1235');
  assert.equal(formatNumber(-1.5), '-1.5');
  assert.equal(formatNumber(12345.678), '12350');
  assert.equal(formatNumber(1.0), '1');
  assert.equal(formatNumber(123456), '1.235e5');
  assert.equal(formatNumber(0.0000123), '1.23e-5');
  assert.equal(formatNumber(NaN), 'NaN');
  assert.equal(formatNumber(Infinity), '+Inf');
  assert.equal(formatNumber(-Infinity), '-Inf');
});

test('formatPercent never rounds a non-zero share to 0', () => {
  assert.equal(formatPercent(0), '0%');
  assert.equal(formatPercent(0.1234), '12.34%');
  assert.equal(formatPercent(0.5), '50%');
  assert.equal(formatPercent(1e-7), '<0.01%');
  assert.equal(formatPercent(0.999999), '>99.99%');
  assert.equal(formatPercent(1), '100%');
});

test('shapes, byte sizes and dtype mixes are written as the tree shows them', () => {
  assert.equal(formatShape([768, 3072]), '768×3072');
  assert.equal(formatShape([]), 'scalar');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(5 * 1024 ** 3), '5 GiB');
  assert.equal(formatDtypes({ F32: 100 }), 'F32');
  assert.equal(formatDtypes({ F32: 2, BF16: 98 }), 'BF16 98% · F32 2%');
  assert.equal(formatDtypes({}), '');
});
