namespace ModelVis.Analysis;

/// <summary>One MLP neuron over a sequence: its largest activation, the token where it peaks, and its mean.</summary>
public sealed record NeuronSummary(int Neuron, float Max, float Mean, int ArgMax);

/// <summary>Which MLP neurons fire hardest on the selection.</summary>
public static class NeuronRanking
{
    /// <summary>Neurons ordered by their largest activation over the tokens.</summary>
    public static NeuronSummary[] Top(float[] activations, int n, int m, int top)
    {
        var summaries = new NeuronSummary[m];
        for (int j = 0; j < m; j++)
        {
            float max = float.NegativeInfinity, sum = 0; int arg = 0;
            for (int i = 0; i < n; i++)
            {
                float v = activations[i * m + j];
                sum += v;
                if (v > max) { max = v; arg = i; }
            }
            summaries[j] = new NeuronSummary(j, max, sum / n, arg);
        }
        return summaries.OrderByDescending(s => s.Max).ThenBy(s => s.Neuron).Take(top).ToArray();
    }
}
