using ModelVis.Tensors;

namespace ModelVis.Analysis;

/// <summary>
/// Attention flow (Abnar &amp; Zuidema 2020): the layers form a graph with one node per (layer, position),
/// layer 0 being the input tokens. Node (l, i) has an edge down to (l-1, j) with capacity Â_l[i, j], the
/// residual-adjusted attention of layer l (see <see cref="AttentionRollout.ResidualAdjusted"/>). The flow from
/// output position i to input token j is the maximum flow from node (L, i) to node (0, j).
/// That is n² max-flow problems on a graph of (L+1)·n nodes, so it is for short inputs; rollout scales.
/// </summary>
public static class AttentionFlow
{
    /// <summary>The most tokens flow is computed for (n² max-flows over L·n² edges each).</summary>
    public const int MaxTokens = 64;

    public static float[] Compute(IReadOnlyList<float[]> layers, int n, CancellationToken ct = default)
    {
        if (layers.Count == 0) throw new ArgumentException("attention flow needs at least one layer");
        if (n > MaxTokens)
            throw new AnalysisException($"attention flow solves {n}² max-flow problems; select at most {MaxTokens} tokens for it (rollout works at any length)");
        int L = layers.Count;
        var capacity = layers.Select(a => AttentionRollout.ResidualAdjusted(a, n)).ToArray();
        var result = new float[n * n];
        Parallelism.ForEach(n, i =>
        {
            var network = new FlowNetwork(capacity, L, n);
            for (int j = 0; j < n; j++)
            {
                ct.ThrowIfCancellationRequested();
                result[i * n + j] = (float)network.MaxFlow(L, i, j);
            }
        }, ct);
        return result;
    }

    /// <summary>
    /// The layered graph with Dinic's algorithm. Edges only go down one layer, so level graphs are the layers
    /// themselves; residual (reverse) capacity lets flow re-route.
    /// </summary>
    sealed class FlowNetwork
    {
        readonly double[][] _capacity; // per layer l = 1..L: [n, n], edge (l, i) → (l-1, j)
        readonly int _layers, _n;
        readonly double[][] _flow;     // current flow on each edge, same layout
        readonly int[] _level;
        readonly int[] _next;          // Dinic's per-node edge pointer

        public FlowNetwork(double[][] capacity, int layers, int n)
        {
            _capacity = capacity; _layers = layers; _n = n;
            _flow = capacity.Select(c => new double[c.Length]).ToArray();
            _level = new int[(layers + 1) * n];
            _next = new int[(layers + 1) * n];
        }

        int Node(int layer, int pos) => layer * _n + pos;

        public double MaxFlow(int topLayer, int source, int sink)
        {
            foreach (var f in _flow) Array.Clear(f);
            double total = 0;
            while (BuildLevels(topLayer, source, sink))
            {
                Array.Clear(_next);
                double pushed;
                while ((pushed = Push(topLayer, source, sink, double.PositiveInfinity)) > 1e-12) total += pushed;
            }
            return total;
        }

        /// <summary>Residual capacity from (layer, i) to (layer2, j), for adjacent layers in either direction.</summary>
        double Residual(int layer, int i, int layer2, int j) =>
            layer2 == layer - 1
                ? _capacity[layer - 1][i * _n + j] - _flow[layer - 1][i * _n + j]   // forward edge down
                : _flow[layer][j * _n + i];                                           // reverse of (layer+1, j) → (layer, i)

        bool BuildLevels(int top, int source, int sink)
        {
            Array.Fill(_level, -1);
            var queue = new Queue<(int Layer, int Pos)>();
            _level[Node(top, source)] = 0;
            queue.Enqueue((top, source));
            while (queue.Count > 0)
            {
                var (l, i) = queue.Dequeue();
                foreach (var l2 in new[] { l - 1, l + 1 })
                {
                    if (l2 < 0 || l2 > top) continue;
                    for (int j = 0; j < _n; j++)
                    {
                        if (_level[Node(l2, j)] >= 0 || Residual(l, i, l2, j) <= 1e-12) continue;
                        _level[Node(l2, j)] = _level[Node(l, i)] + 1;
                        queue.Enqueue((l2, j));
                    }
                }
            }
            return _level[Node(0, sink)] >= 0;
        }

        double Push(int l, int i, int sink, double limit)
        {
            if (l == 0) return i == sink ? limit : 0;
            int node = Node(l, i);
            // Edges of a node: 2n candidates (n down, n up), walked once per phase via _next.
            for (; _next[node] < 2 * _n; _next[node]++)
            {
                int e = _next[node];
                int l2 = e < _n ? l - 1 : l + 1, j = e % _n;
                if (l2 < 0 || l2 > _layers) continue;
                if (_level[Node(l2, j)] != _level[node] + 1) continue;
                double r = Residual(l, i, l2, j);
                if (r <= 1e-12) continue;
                double got = Push(l2, j, sink, Math.Min(limit, r));
                if (got <= 1e-12) continue;
                if (l2 == l - 1) _flow[l - 1][i * _n + j] += got;
                else _flow[l][j * _n + i] -= got;
                return got;
            }
            return 0;
        }
    }
}

/// <summary>An analysis that cannot be done on this input, with what to do instead.</summary>
public sealed class AnalysisException(string message) : Exception(message);
