using ModelVis.Checkpoints;
using ModelVis.Tests;

namespace ModelVis.Vision.Tests;

/// <summary>Activation maximisation and feature inversion on LeNet-5: each objective moves the way it should, and the interpreter agrees on the result.</summary>
public class FeatureVisualizationTests(Xunit.Abstractions.ITestOutputHelper output)
{
    static readonly Lazy<VisionModel> LeNet = new(() => VisionModel.Open(Path.Combine(LeNetConformanceTests.LeNetDir, "lenet.onnx")));

    [Fact]
    public void Maximising_a_channel_and_a_class_raises_them()
    {
        var graph = LeNet.Value.Graph;
        var conv2 = graph.Nodes.Where(n => n.OpType == "Conv").ElementAt(1).Outputs[0];
        var channel = FeatureVisualization.Run(graph, [1, 1, 28, 28], new VisualizationRequest(VisualizationGoal.Channel, conv2, 5, Steps: 40)).ToList();
        output.WriteLine($"conv2 channel 5: {string.Join(" ", channel.Where((_, i) => i % 5 == 0).Select(st => st.Objective.ToString("F3")))}");
        Assert.Equal(40, channel.Count);
        Assert.True(channel[^1].Objective > channel[0].Objective + 1, "the channel's mean activation rises");

        var cls = FeatureVisualization.Run(graph, [1, 1, 28, 28], new VisualizationRequest(VisualizationGoal.Class, null, 3, Steps: 40)).ToList();
        output.WriteLine($"class 3 score: {cls[0].Objective:F3} → {cls[^1].Objective:F3}");
        Assert.True(cls[^1].Objective > cls[0].Objective + 5, "the class score rises");
        // The interpreter, run on the final image, sees the raised score too.
        var run = LeNet.Value.Run(cls[^1].Image);
        Assert.True(run.Logits.Floats[3] > cls[0].Objective + 3, $"interpreter's class-3 score {run.Logits.Floats[3]}");
    }

    [Fact]
    public void Inverting_a_digits_features_lowers_the_error_and_stop_ends_the_run()
    {
        var graph = LeNet.Value.Graph;
        using var expected = CheckpointLoader.Open(Fixtures.Expected("lenet5-mnist", "mnist_test_00_label7.safetensors"));
        var seven = NdArray.Of(expected.ReadFloats("input"), 1, 1, 28, 28);
        var conv1 = graph.Nodes.First(n => n.OpType == "Conv").Outputs[0];
        var steps = FeatureVisualization.Run(graph, [1, 1, 28, 28], new VisualizationRequest(VisualizationGoal.Inversion, conv1, 0, seven, Steps: 60, LearningRate: 0.1)).ToList();
        output.WriteLine($"inversion error: {string.Join(" ", steps.Where((_, i) => i % 5 == 0).Select(st => st.Objective.ToString("F4")))}");
        Assert.True(steps[^1].Objective < 0.5 * steps[0].Objective, "the features get closer to the digit's");

        using var cts = new CancellationTokenSource();
        int seen = 0;
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (var _ in FeatureVisualization.Run(graph, [1, 1, 28, 28], new VisualizationRequest(VisualizationGoal.Channel, conv1, 0, Steps: 100), cts.Token))
                if (++seen == 3) cts.Cancel();
        });
        Assert.Equal(3, seen);
        Assert.Contains("outside", Assert.Throws<VisionException>(() => FeatureVisualization.Run(graph, [1, 1, 28, 28], new VisualizationRequest(VisualizationGoal.Class, null, 10)).First()).Message);
    }
}
