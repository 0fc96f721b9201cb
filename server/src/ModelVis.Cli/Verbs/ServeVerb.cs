using System.CommandLine;
using ModelVis.Host;

namespace ModelVis.Cli.Verbs;

/// <summary><c>serve</c>: the JSON-RPC host the extension talks to, over stdin/stdout.</summary>
static class ServeVerb
{
    public static Command Create()
    {
        var cmd = new Command("serve", "Serve JSON-RPC 2.0 (LSP framing) on stdin/stdout; logs on stderr. Used by the VS Code extension.");
        cmd.SetAction(async (_, _) =>
        {
            var stdin = Console.OpenStandardInput();
            var stdout = Console.OpenStandardOutput();
            // Nothing else may write to stdout: it carries protocol only.
            Console.SetOut(Console.Error);
            return await HostServer.RunAsync(stdin, stdout, Console.Error);
        });
        return cmd;
    }
}
