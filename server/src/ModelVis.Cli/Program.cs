using System.CommandLine;
using ModelVis.Cli;
using ModelVis.Cli.Verbs;

// stdout carries results only (JSON with --json); progress and logs go to stderr.
var root = new RootCommand("ModelVis: look inside neural networks. The host of the VS Code extension, and its engine from the command line.");
foreach (var verb in VerbList.All) root.Add(verb);
root.Add(CliRunner.Threads);
root.Add(CliRunner.Device);
return await CliRunner.RunAsync(root, args);
