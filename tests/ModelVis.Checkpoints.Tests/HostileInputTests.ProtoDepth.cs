using ModelVis.Checkpoints.Onnx;
using Xunit;

namespace ModelVis.Checkpoints.Tests;

public partial class HostileInputTests
{
    [Fact]
    public void DeeplyNestedProtobufGroupsAreRefusedNotAStackOverflow()
    {
        const int depth = 100_000;
        var bytes = new byte[depth * 2];
        for (int i = 0; i < depth; i++) bytes[i] = (15 << 3) | 3;            // start group, field 15
        for (int i = depth; i < 2 * depth; i++) bytes[i] = (15 << 3) | 4;    // end group
        var e = Assert.Throws<OnnxFormatException>(() => OnnxModel.Parse(bytes, "deep.onnx"));
        Assert.Contains("deep.onnx", e.Message);
        Assert.Contains("nested more than", e.Message);
    }
}
