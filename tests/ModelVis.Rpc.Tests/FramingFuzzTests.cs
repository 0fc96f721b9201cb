using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ModelVis.Tests;
using Xunit;
using Xunit.Abstractions;

namespace ModelVis.Rpc.Tests;

/// <summary>
/// The RPC framing fuzzed (<see cref="BoundedFuzzer"/>): mutated frames — headers, lengths, bodies, several frames run
/// together — go to a fresh server, followed by a request the fuzzer did not touch. Every reply must be a well-formed
/// JSON-RPC response, the untouched request must be answered (the server resynchronised), and the server must end
/// when its input does, all within the fuzzer's time bound.
/// </summary>
public partial class FramingFuzzTests(ITestOutputHelper output)
{
    static string Echo(object id, string text) =>
        new JsonObject { ["jsonrpc"] = "2.0", ["id"] = JsonValue.Create(id), ["method"] = "echo", ["params"] = new JsonObject { ["text"] = text } }.ToJsonString();

    static byte[] Frames(params string[] bodies) => bodies.SelectMany(TestClient.Frame).ToArray();

    static readonly byte[][] Seeds =
    [
        Frames(Echo(1, "héllo")),
        Frames(Echo(2, "a"), Echo("two", "b")),
        Frames(Echo(3, "x"), TestClient.CancelRequest(3), Echo(4, "y")),
        Frames("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"nope\",\"params\":[1,2,{\"k\":null}]}"),
        Frames("{\"jsonrpc\":\"2.0\",\"method\":\"$/setTrace\",\"params\":{\"value\":\"off\"}}", Echo(6, new string('q', 300))),
        Encoding.ASCII.GetBytes($"Content-Length: 30\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{Echo(7, "typed")}"),
    ];

    /// <summary>Enough bytes to complete any body the mutated input left waiting, up to this many bytes.</summary>
    const int Filler = 70_000;

    [GeneratedRegex(@"Content-Length:[ \t]*(\d{1,19})")]
    private static partial Regex DeclaredLength();

    [Fact]
    public void Framing()
    {
        // 3,500: past input #3170, an id of invalid UTF-8 that once ended the connection.
        output.WriteLine(BoundedFuzzer.Run("rpc framing", 41, 3_500, Seeds, input => RunOne(input).GetAwaiter().GetResult()).ToString());
    }

    static async Task RunOne(byte[] input)
    {
        var client = new TestClient();
        client.Server.Register<FramingTests.EchoParams, string>("echo", (p, _) => p.Text);
        client.Start();
        await client.SendBytes(input);
        await client.SendBytes(Encoding.ASCII.GetBytes(new string(' ', Filler)));
        await client.Send(Echo("sentinel", "after"));
        // A length the filler cannot complete (but under the host's limit) rightly holds the sentinel in its body.
        bool mayHoldSentinel = DeclaredLength().Matches(Encoding.ASCII.GetString(input))
            .Any(m => long.TryParse(m.Groups[1].Value, out var n) && n > Filler - 200 && n <= 256 << 20);
        if (!mayHoldSentinel)
        {
            while (true)
            {
                var (_, body) = await client.ReceiveFrame(TimeSpan.FromSeconds(2));
                var reply = JsonNode.Parse(body)!.AsObject();
                if ((string?)reply["jsonrpc"] != "2.0" || !reply.ContainsKey("id") || reply.ContainsKey("result") == reply.ContainsKey("error"))
                    throw new Xunit.Sdk.XunitException($"not a JSON-RPC response: {reply.ToJsonString()}");
                if (reply["id"]?.GetValueKind() == System.Text.Json.JsonValueKind.String && (string)reply["id"]! == "sentinel")
                {
                    if ((string?)reply["result"] != "after") throw new Xunit.Sdk.XunitException($"sentinel answered {reply.ToJsonString()}");
                    break;
                }
            }
        }
        await client.EndInput();
        await client.Run!.WaitAsync(TimeSpan.FromSeconds(2));
    }
}
