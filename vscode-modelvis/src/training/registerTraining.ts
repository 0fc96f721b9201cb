// Wires issue 8 into the extension: the loss-curve panel, "Train a Tiny Model on This File", "Show Loss
// Curve", and the built-in and trained models as discovery roots of the Models view.

import * as vscode from 'vscode';
import { HostClient } from '../host/hostClient';
import { ModelService } from '../models/modelService';
import { setLossCurves, trainingRoots } from './builtin';
import { LossCurves } from './lossCurvePanel';
import { trainOnFile } from './trainOnFile';

export function registerTraining(extensionUri: vscode.Uri, host: HostClient, models: ModelService): vscode.Disposable[] {
  const curves = new LossCurves(extensionUri, host);
  setLossCurves(curves);
  return [
    curves,
    { dispose: () => setLossCurves(undefined) },
    models.addRoots(() => trainingRoots(host)),
    vscode.commands.registerCommand('modelvis.trainOnFile', () => trainOnFile(host, models, curves)),
    vscode.commands.registerCommand('modelvis.showLossCurve', () => curves.show()),
  ];
}
