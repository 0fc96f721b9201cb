using System.Numerics;

namespace ModelVis.Autodiff.Ops;

public static class EmbeddingOps
{
    /// <summary>Rows of a table [vocab, d] picked by token ids: out[i] = table[ids[i]].</summary>
    public static Var<T> Embedding<T>(this Tape<T> tape, Var<T> table, int[] ids)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int vocab = table.Shape[0], d = table.Shape[1];
        var y = tape.Output("embedding", [ids.Length, d], table);
        for (int i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(ids), $"token id {ids[i]} at {i} is outside the vocabulary of {vocab}");
            Array.Copy(table.Data, ids[i] * d, y.Data, i * d, d);
        }
        if (y.RequiresGrad)
            tape.Record(() =>
            {
                // Scatter-add in position order: deterministic.
                var g = table.Grad;
                for (int i = 0; i < ids.Length; i++)
                {
                    int src = i * d, dst = ids[i] * d;
                    for (int j = 0; j < d; j++) g[dst + j] += y.Grad[src + j];
                }
            });
        return y;
    }
}
