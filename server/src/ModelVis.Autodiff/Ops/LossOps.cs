using System.Numerics;
using ModelVis.Tensors;

namespace ModelVis.Autodiff.Ops;

public static class LossOps
{
    /// <summary>Targets equal to this are left out of the loss (as PyTorch's ignore_index).</summary>
    public const int Ignore = -1;

    /// <summary>Mean cross-entropy of logits [n, classes] against class ids; returns a scalar (nats).</summary>
    public static Var<T> CrossEntropy<T>(this Tape<T> tape, Var<T> logits, int[] targets)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = logits.Rows, c = logits.Cols;
        if (targets.Length != n) throw new ArgumentException($"cross-entropy: {targets.Length} targets for {n} rows");
        var rowLoss = new T[n];
        var logSumExp = new T[n];
        int counted = 0;
        foreach (var t in targets)
        {
            if (t == Ignore) continue;
            if ((uint)t >= (uint)c) throw new ArgumentOutOfRangeException(nameof(targets), $"target {t} outside {c} classes");
            counted++;
        }
        void Row(int i)
        {
            int o = i * c;
            T max = T.NegativeInfinity;
            for (int j = 0; j < c; j++) if (logits.Data[o + j] > max) max = logits.Data[o + j];
            T sum = T.Zero;
            for (int j = 0; j < c; j++) sum += T.Exp(logits.Data[o + j] - max);
            logSumExp[i] = max + T.Log(sum);
            if (targets[i] != Ignore) rowLoss[i] = logSumExp[i] - logits.Data[o + targets[i]];
        }
        if (n >= 64) Parallelism.ForEach(n, Row); else for (int i = 0; i < n; i++) Row(i);
        var loss = tape.Output("cross_entropy", [1], logits);
        T total = T.Zero;
        for (int i = 0; i < n; i++) total += rowLoss[i];   // fixed order: deterministic
        loss.Data[0] = counted == 0 ? T.Zero : total / T.CreateTruncating(counted);
        if (loss.RequiresGrad && counted > 0)
            tape.Record(() =>
            {
                T g = loss.Grad[0] / T.CreateTruncating(counted);
                var dl = logits.Grad;
                void Back(int i)
                {
                    if (targets[i] == Ignore) return;
                    int o = i * c;
                    for (int j = 0; j < c; j++) dl[o + j] += g * T.Exp(logits.Data[o + j] - logSumExp[i]);
                    dl[o + targets[i]] -= g;
                }
                if (n >= 64) Parallelism.ForEach(n, Back); else for (int i = 0; i < n; i++) Back(i);
            });
        return loss;
    }
}
