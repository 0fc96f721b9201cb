// "ModelVis: Visualize Attention" from the editor's context menu on selected text: the request
// must reach the .NET host (attention/run) and its answer must come back to the user, either as a
// message (before the model engine exists: "needs a model engine") or as an attention panel.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, makeSampleWorkspace, TIMEOUTS, waitFor } from './harness.mjs';

let s;

before(async () => {
  // stories260K: a real trained Llama with its tokenizer, small enough to run in a test.
  s = await launch({
    name: 'attention',
    workspace: (dir) => makeSampleWorkspace(dir, { models: ['tiny-gpt2', 'stories260K'] }),
    settings: (ws) => ({ 'modelvis.model': ws.models.stories260K }),
  });
});
after(async () => {
  await s?.close();
});

test('Visualize Attention from the context menu on a selection reaches the host and answers', async () => {
  await s.guard('attention', async () => {
    const { pythonName, sentence } = s.workspaceInfo;
    await s.openFile(pythonName);
    const box = await s.selectText(sentence);
    await s.rightClickMenu('Visualize Attention', box);

    // What the user sees: an attention panel, or a ModelVis message with the host's answer.
    const answer = await waitFor(async () => {
      // A ModelVis toast other than the command's own progress (which has a Cancel button and
      // shows the host's $/progress messages while the model loads and runs).
      for (const toast of await s.page.locator('.notifications-toasts .notification-toast').all()) {
        const text = (await toast.innerText().catch(() => '')).replace(/\s+/g, ' ');
        const isProgress = (await toast.locator('.monaco-button', { hasText: /^Cancel$/ }).count()) > 0;
        if (/ModelVis/.test(text) && !isProgress) return { kind: 'message', text };
      }
      const panelTab = s.page.locator('.tabs-container .tab', { hasText: /attention/i }).first();
      if (await panelTab.isVisible().catch(() => false)) return { kind: 'panel', text: await panelTab.innerText() };
      return null;
    }, { timeout: TIMEOUTS.host, message: 'a ModelVis message or attention panel' });
    // The extension logs the host's answer to attention/run in the "ModelVis" output channel (the
    // channel's log file is written by VS Code): the request went through the host and came back.
    const logLine = answer.kind === 'panel' ? '' : await waitFor(() => /attention\/run\b.*/.exec(s.extensionHostLog())?.[0], {
      timeout: TIMEOUTS.host, message: 'attention/run in the ModelVis output channel',
    });
    s.attentionAnswer = { logLine, ...answer };
    process.stderr.write(`[e2e] attention: ${JSON.stringify(s.attentionAnswer)}\n`);
    // The host's stub answer before the engine lands, or the engine's result.
    assert.doesNotMatch(`${answer.text} ${logLine}`, /unknown method|does not support|host bug/i, 'the host knows attention/run');
    assert.match(answer.text, answer.kind === 'panel' ? /attention/i : /model engine|attention computed/i);
    await s.screenshot('attention');
  });
});
