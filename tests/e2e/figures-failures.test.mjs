// Issue 20, the extension's half, in a real VS Code on stories260K: Save PNG of the heatmap is a labelled figure
// (decoded here: bigger than the matrix, title, token labels beside and below the plot, a colour bar, the dark
// theme's page); the neuron strip wraps inside a 690 px panel and the list numbers keep clear of the boxes; a run
// that fails after a good one leaves no paint, no status-bar item and no old picture (the panel offers Retry and
// Open Settings), and the tensor-name hover says why it has nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { launch, makeSampleWorkspace, screenshotsDir, TIMEOUTS, waitFor } from './harness.mjs';

let s;

before(async () => {
  s = await launch({
    name: 'figures',
    // tiny-gpt2 is made unreadable below (its weights cut to 64 bytes): the model a failing run names.
    workspace: (dir) => makeSampleWorkspace(dir, { models: ['tiny-gpt2', 'stories260K'] }),
    settings: (ws) => ({ 'modelvis.model': ws.models.stories260K, 'workbench.colorTheme': 'Default Dark Modern' }),
  });
  truncateSync(join(s.workspaceInfo.models['tiny-gpt2'], 'model.safetensors'), 64);
});
after(async () => {
  await s?.close();
});

/** The figure's pixels sorted into the page, text (grey, unlike the page) and colour (viridis: saturated). */
function classify(png) {
  const at = (x, y) => png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 3);
  const page = at(0, 0);
  const kind = (x, y) => {
    const [r, g, b] = at(x, y);
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) return 'colour';
    return Math.abs(r - page[0]) + Math.abs(g - page[1]) + Math.abs(b - page[2]) > 90 ? 'text' : 'page';
  };
  const count = (x0, y0, x1, y1, k) => {
    let n = 0;
    for (let y = Math.max(0, y0); y < Math.min(png.height, y1); y++) for (let x = Math.max(0, x0); x < Math.min(png.width, x1); x++) if (kind(x, y) === k) n++;
    return n;
  };
  return { page, kind, count };
}

/** Runs of columns (then rows) where most pixels are coloured: the plot, then the colour bar to its right. */
function colouredRuns(png, kind, along) {
  const [outer, inner] = along === 'x' ? [png.width, png.height] : [png.height, png.width];
  const share = [];
  for (let i = 0; i < outer; i++) {
    let n = 0;
    for (let j = 0; j < inner; j++) if ((along === 'x' ? kind(i, j) : kind(j, i)) === 'colour') n++;
    share.push(n);
  }
  const high = Math.max(...share);
  const runs = [];
  for (let i = 0; i < outer; i++) {
    if (share[i] < high * 0.5) continue;
    if (runs.length && runs[runs.length - 1][1] === i - 1) runs[runs.length - 1][1] = i;
    else runs.push([i, i]);
  }
  return runs;
}

test('Save PNG of the heatmap gives a labelled figure: title, token labels, colour bar, in the theme, larger than the matrix', async () => {
  await s.guard('heatmap figure', async () => {
    const { pythonName, sentence } = s.workspaceInfo;
    await s.openFile(pythonName);
    const box = await s.selectText(sentence);
    await s.rightClickMenu('Visualize Attention', box);
    const frame = await s.webview('#attention-heatmap[data-status="ready"] img[data-loaded="true"]', { timeout: TIMEOUTS.host });
    const n = Number(await frame.locator('#run-meta').getAttribute('data-n'));
    const shown = await frame.locator('#heatmap-figure .matrix-plot img').boundingBox();

    const bytes = await s.saveFromPanel(frame, '#save-png', 'png');
    mkdirSync(screenshotsDir, { recursive: true });
    writeFileSync(join(screenshotsDir, 'figure-heatmap-dark.png'), bytes);
    const png = PNG.sync.read(bytes);
    const { page, kind, count } = classify(png);
    // The dark theme's page, and far more pixels than the n × n matrix or the picture on screen.
    assert.ok(page[0] < 60 && page[1] < 60 && page[2] < 60, `dark page ${page}`);
    assert.ok(png.width > 10 * n && png.height > 10 * n, `${png.width}×${png.height} for ${n} tokens`);
    assert.ok(png.width >= 1.5 * shown.width, `about twice the on-screen ${Math.round(shown.width)} px: ${png.width}`);

    const [plotX, barX] = colouredRuns(png, kind, 'x');
    assert.ok(plotX && barX, `a plot and a colour bar side by side: ${JSON.stringify(colouredRuns(png, kind, 'x'))}`);
    const [plotY] = colouredRuns(png, kind, 'y');
    assert.ok(plotX[1] - plotX[0] > 6 * n && barX[1] - barX[0] < (plotX[1] - plotX[0]) / 4, `plot ${plotX}, bar ${barX}`);
    // Text where labels go: the title above the plot, query labels to its left, key labels below it, ticks right of the bar.
    const title = count(0, 0, png.width, plotY[0] - 4, 'text');
    const queries = count(0, plotY[0], plotX[0] - 2, plotY[1], 'text');
    const keys = count(plotX[0], plotY[1] + 2, plotX[1], png.height, 'text');
    const ticks = count(barX[1] + 2, plotY[0] - 10, png.width, plotY[1] + 10, 'text');
    assert.ok(title > 300 && queries > 300 && keys > 300 && ticks > 50, JSON.stringify({ title, queries, keys, ticks }));
    // Every query label's row: text in the band left of the plot at each row's centre (± a third of a row).
    const row = (plotY[1] - plotY[0]) / n;
    const unlabelled = [...Array(n).keys()].filter((q) => count(0, Math.round(plotY[0] + (q + 0.2) * row), plotX[0] - 2, Math.round(plotY[0] + (q + 0.8) * row), 'text') === 0);
    assert.deepEqual(unlabelled, [], 'each of the tokens has its label');
    await s.screenshot('figure-heatmap-panel-dark');
  });
});

test('the neuron strip wraps inside a 690 px panel and the list numbers keep clear of the boxes', async () => {
  await s.guard('neurons fit', async () => {
    const iframe = s.page.locator('iframe.webview.ready').last();
    const viewport = s.page.viewportSize();
    // The window's width is shared between the sidebar and the two editor groups: move it until the panel is 690 px.
    let size = viewport.width;
    for (let i = 0; i < 8; i++) {
      const width = (await iframe.boundingBox()).width;
      if (Math.abs(width - 690) <= 8) break;
      size = Math.round(size + (690 - width) * 1.6);
      await s.page.setViewportSize({ width: size, height: viewport.height });
      await new Promise((r) => setTimeout(r, 700));
    }
    const panelWidth = (await iframe.boundingBox()).width;
    assert.ok(Math.abs(panelWidth - 690) <= 8, `the panel at 690 px: ${panelWidth}`);
    const frame = await s.webview('#attention-heatmap[data-status="ready"]');
    await frame.locator('#view-tabs button[data-view=neurons]').click();
    await frame.locator('#neurons[data-status="ready"] .neuron').first().waitFor({ timeout: TIMEOUTS.host });
    await frame.locator('#neuron-list .neuron').first().click();
    await frame.locator('#neuron-detail .neuron-token').first().waitFor({ timeout: TIMEOUTS.host });
    const fit = await frame.locator('#neuron-detail .neuron-tokens').evaluate((strip) => {
      const r = strip.getBoundingClientRect();
      const tokens = [...strip.querySelectorAll('.neuron-token')].map((t) => t.getBoundingClientRect());
      return {
        page: document.documentElement.clientWidth,
        scroll: document.documentElement.scrollWidth,
        right: r.right,
        beyond: tokens.filter((t) => t.right > document.documentElement.clientWidth + 0.5).length,
        lines: new Set(tokens.map((t) => Math.round(t.top))).size,
      };
    });
    assert.ok(fit.page <= 700, `the page is the panel's width: ${fit.page}`);
    assert.ok(fit.scroll <= fit.page, `no sideways scrolling: ${JSON.stringify(fit)}`);
    assert.equal(fit.beyond, 0, `every token inside the panel: ${JSON.stringify(fit)}`);
    // The list in columns: the second column's entries start right of the first column's boxes, with room for "20.".
    const columns = await frame.locator('#neuron-list li').evaluateAll((items) => items.map((li) => {
      const b = li.querySelector('button').getBoundingClientRect();
      return { left: b.left, right: b.right, top: b.top };
    }));
    const lefts = [...new Set(columns.map((c) => Math.round(c.left)))].sort((a, b) => a - b);
    if (lefts.length > 1) {
      const firstRight = Math.max(...columns.filter((c) => Math.round(c.left) === lefts[0]).map((c) => c.right));
      assert.ok(lefts[1] - firstRight >= 24, `room for the second column's numbers: boxes end at ${firstRight}, next column at ${lefts[1]}`);
    }
    await s.panelScreenshot('figure-neurons-690-dark');
    await s.page.setViewportSize(viewport);
    await s.runCommand('ModelVis: Clear Attention');
  });
});

test('a failed run after a good one leaves no paint and no stale status, the panel offers Retry and Open Settings, and the hover says why', async () => {
  await s.guard('failure clears', async () => {
    // A good run first (the earlier tests cleared theirs).
    await s.rightClickMenu('Visualize Attention', await s.selectText(s.workspaceInfo.sentence));
    const frame = await s.webview('#run-meta', { timeout: TIMEOUTS.host });
    await frame.locator('#view-tabs button[data-view=heatmap]').click();
    await frame.locator('#attention-heatmap[data-status="ready"]').waitFor({ timeout: TIMEOUTS.host });
    const park = await s.textBox('park');
    await s.page.mouse.click(park.x1 + 3, park.y);
    await waitFor(async () => (await s.paintedDecorations()) > 0, { timeout: TIMEOUTS.host, message: 'the good run painted' });
    const status = () => s.page.locator('.statusbar-item:visible', { hasText: 'ModelVis: stories260K' }).count();
    assert.ok((await status()) > 0, 'the status bar names the good run');

    // The setting now names the unreadable model (the workspace's settings file, as an edit would).
    mkdirSync(join(s.workspaceInfo.dir, '.vscode'), { recursive: true });
    writeFileSync(join(s.workspaceInfo.dir, '.vscode', 'settings.json'), JSON.stringify({ 'modelvis.model': s.workspaceInfo.models['tiny-gpt2'] }, null, 2));
    // The tensor-name hover on the unreadable model says why it has no preview (and shows that the setting is read).
    const hover = await s.hoverText(s.workspaceInfo.tensorName, /could not read the model/);
    assert.match(await hover.innerText(), /Open Settings/);
    await s.screenshot('figure-failed-hover-dark');
    // (Escape would clear the paint itself: the pointer moves off instead.)
    await s.page.mouse.move(5, 5);
    const box = await s.selectText(s.workspaceInfo.sentence);
    await s.rightClickMenu('Visualize Attention', box);
    await frame.locator('#run-error').waitFor({ timeout: TIMEOUTS.host });
    const message = await frame.locator('#run-error').innerText();
    assert.match(message, /tiny-gpt2|safetensors|model/i, message);
    assert.equal(await frame.locator('#attention-heatmap, #heatmap-figure, #view-tabs').count(), 0, 'none of the old picture');
    assert.equal(await frame.locator('#attention-title').innerText(), 'Attention', 'the title names no earlier model');
    await frame.locator('#run-retry').waitFor();
    await frame.locator('#run-open-settings').waitFor();
    assert.equal(await s.paintedDecorations(), 0, 'no paint of the earlier run');
    assert.equal(await status(), 0, 'no status-bar item of the earlier run');
    await s.panelScreenshot('figure-failed-run-dark');

    // Retry runs it again, and fails the same way (the file is still cut).
    await frame.locator('#run-retry').click();
    await frame.locator('#run-error').waitFor({ timeout: TIMEOUTS.host });

  });
});
