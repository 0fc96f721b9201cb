namespace ModelVis.Vision.Ops;

/// <summary>Operators that move values without arithmetic: reshape, transpose, concat, slice, gather, pad.</summary>
public static class Shapes
{
    /// <summary>ONNX Reshape: 0 copies the input's dimension (unless allowzero), −1 is inferred.</summary>
    public static NdArray Reshape(NdArray x, long[] target, bool allowZero)
    {
        var shape = new int[target.Length];
        int infer = -1; long known = 1;
        for (int i = 0; i < target.Length; i++)
        {
            long d = target[i];
            if (d == 0 && !allowZero)
            {
                if (i >= x.Rank) throw new VisionException($"Reshape: 0 at position {i} but the input {x.ShapeString} has no such dimension");
                d = x.Shape[i];
            }
            if (d == -1)
            {
                if (infer >= 0) throw new VisionException("Reshape: more than one −1 in the target shape");
                infer = i; continue;
            }
            if (d < 0) throw new VisionException($"Reshape: invalid dimension {d}");
            shape[i] = (int)d; known *= d;
        }
        if (infer >= 0)
        {
            if (known == 0 || x.Length % known != 0)
                throw new VisionException($"Reshape: cannot infer −1 in [{string.Join(", ", target)}] for {x.Length} values ({x.ShapeString})");
            shape[infer] = (int)(x.Length / known);
        }
        if (NdArray.ElementCount(shape) != x.Length)
            throw new VisionException($"Reshape: {x.ShapeString} ({x.Length} values) cannot become [{string.Join(", ", target)}]");
        return x.Reshaped(shape);
    }

    /// <summary>[d0 … d(axis−1) | d(axis) …] → [product of the first part, product of the rest].</summary>
    public static NdArray Flatten(NdArray x, int axis)
    {
        if (axis < 0) axis += x.Rank;
        int outer = 1;
        for (int d = 0; d < axis; d++) outer *= x.Shape[d];
        return x.Reshaped(outer, outer == 0 ? 0 : x.Length / outer);
    }

    public static NdArray Transpose(NdArray x, int[]? perm)
    {
        int rank = x.Rank;
        perm ??= Enumerable.Range(0, rank).Reverse().ToArray();
        if (perm.Length != rank || perm.Distinct().Count() != rank || perm.Any(p => p < 0 || p >= rank))
            throw new VisionException($"Transpose: perm [{string.Join(", ", perm)}] is not a permutation of {rank} axes");
        var outShape = perm.Select(p => x.Shape[p]).ToArray();
        var inStrides = Strides(x.Shape);
        var strides = perm.Select(p => inStrides[p]).ToArray(); // input stride per output axis
        var index = GatherIndex(outShape, strides, 0);
        return Take(x, index, outShape);
    }

    public static NdArray Concat(IReadOnlyList<NdArray> parts, int axis)
    {
        var first = parts[0];
        if (axis < 0) axis += first.Rank;
        var shape = (int[])first.Shape.Clone();
        shape[axis] = 0;
        foreach (var p in parts)
        {
            if (p.Rank != first.Rank) throw new VisionException($"Concat: inputs of different rank ({first.ShapeString}, {p.ShapeString})");
            for (int d = 0; d < p.Rank; d++)
                if (d != axis && p.Shape[d] != first.Shape[d]) throw new VisionException($"Concat: shapes {first.ShapeString} and {p.ShapeString} differ outside axis {axis}");
            shape[axis] += p.Shape[axis];
        }
        int outer = 1;
        for (int d = 0; d < axis; d++) outer *= shape[d];
        bool ints = parts.All(p => p.IsInteger);
        int total = NdArray.ElementCount(shape);
        var f = ints ? null : new float[total];
        var l = ints ? new long[total] : null;
        int rowOut = total / Math.Max(1, outer);
        for (int o = 0; o < outer; o++)
        {
            int at = 0;
            foreach (var p in parts)
            {
                int row = p.Length / Math.Max(1, outer);
                if (ints) Array.Copy(p.Longs, o * row, l!, o * rowOut + at, row);
                else Array.Copy(p.Floats, o * row, f!, o * rowOut + at, row);
                at += row;
            }
        }
        return ints ? NdArray.OfLongs(l!, shape) : NdArray.Of(f!, shape);
    }

    /// <summary>numpy-style slicing along some axes: starts/ends clamp, negative values count from the end, steps may be negative.</summary>
    public static NdArray Slice(NdArray x, long[] starts, long[] ends, long[]? axes, long[]? steps)
    {
        int rank = x.Rank;
        axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        steps ??= Enumerable.Repeat(1L, starts.Length).ToArray();
        var begin = new int[rank]; var step = new int[rank]; var shape = (int[])x.Shape.Clone();
        for (int d = 0; d < rank; d++) step[d] = 1;
        for (int i = 0; i < axes.Length; i++)
        {
            int a = (int)(axes[i] < 0 ? axes[i] + rank : axes[i]);
            if (a < 0 || a >= rank) throw new VisionException($"Slice: axis {axes[i]} out of range for {x.ShapeString}");
            long dim = x.Shape[a], s = steps[i];
            if (s == 0) throw new VisionException("Slice: step 0");
            long st = starts[i] < 0 ? starts[i] + dim : starts[i];
            long en = ends[i] < 0 ? ends[i] + dim : ends[i];
            if (s > 0) { st = Math.Clamp(st, 0, dim); en = Math.Clamp(en, 0, dim); }
            else { st = Math.Clamp(st, -1, dim - 1); en = Math.Clamp(en, -1, dim - 1); }
            long count = s > 0 ? Math.Max(0, (en - st + s - 1) / s) : Math.Max(0, (st - en + (-s) - 1) / (-s));
            begin[a] = (int)st; step[a] = (int)s; shape[a] = (int)count;
        }
        var inStrides = Strides(x.Shape);
        int baseOffset = 0;
        for (int d = 0; d < rank; d++) baseOffset += begin[d] * inStrides[d];
        var strides = new int[rank];
        for (int d = 0; d < rank; d++) strides[d] = inStrides[d] * step[d];
        return Take(x, GatherIndex(shape, strides, baseOffset), shape);
    }

    /// <summary>ONNX Gather: picks entries along <paramref name="axis"/>; output shape = data[:axis] + indices + data[axis+1:].</summary>
    public static NdArray Gather(NdArray data, NdArray indices, int axis)
    {
        if (axis < 0) axis += data.Rank;
        int outer = 1, inner = 1, dim = data.Shape[axis];
        for (int d = 0; d < axis; d++) outer *= data.Shape[d];
        for (int d = axis + 1; d < data.Rank; d++) inner *= data.Shape[d];
        var idx = indices.Longs;
        var index = new int[outer * idx.Length * inner];
        int at = 0;
        for (int o = 0; o < outer; o++)
            foreach (var raw in idx)
            {
                long i = raw < 0 ? raw + dim : raw;
                if (i < 0 || i >= dim) throw new VisionException($"Gather: index {raw} out of range for axis of size {dim}");
                for (int k = 0; k < inner; k++) index[at++] = (int)((o * dim + i) * inner + k);
            }
        var shape = data.Shape[..axis].Concat(indices.Shape).Concat(data.Shape[(axis + 1)..]).ToArray();
        return Take(data, index, shape);
    }

    public static NdArray Unsqueeze(NdArray x, long[] axes)
    {
        int rank = x.Rank + axes.Length;
        var norm = axes.Select(a => (int)(a < 0 ? a + rank : a)).ToHashSet();
        var shape = new int[rank];
        int src = 0;
        for (int d = 0; d < rank; d++) shape[d] = norm.Contains(d) ? 1 : x.Shape[src++];
        return x.Reshaped(shape);
    }

    public static NdArray Squeeze(NdArray x, long[]? axes)
    {
        var drop = axes == null
            ? Enumerable.Range(0, x.Rank).Where(d => x.Shape[d] == 1).ToHashSet()
            : axes.Select(a => (int)(a < 0 ? a + x.Rank : a)).ToHashSet();
        foreach (var d in drop)
            if (x.Shape[d] != 1) throw new VisionException($"Squeeze: axis {d} of {x.ShapeString} is not 1");
        return x.Reshaped(x.Shape.Where((_, d) => !drop.Contains(d)).ToArray());
    }

    /// <summary>Pads every axis by (begin, end) amounts: constant value, reflection (without the edge) or edge replication.</summary>
    public static NdArray Pad(NdArray x, long[] pads, string mode, float value)
    {
        int rank = x.Rank;
        if (pads.Length != 2 * rank) throw new VisionException($"Pad: {pads.Length} pad values for a {rank}-D input (needs {2 * rank})");
        var shape = new int[rank];
        for (int d = 0; d < rank; d++) shape[d] = x.Shape[d] + (int)pads[d] + (int)pads[d + rank];
        var src = x.Floats;
        var dst = new float[NdArray.ElementCount(shape)];
        var inStrides = Strides(x.Shape);
        var coord = new int[rank];
        for (int o = 0; o < dst.Length; o++)
        {
            int rem = o, offset = 0;
            bool outside = false;
            for (int d = rank - 1; d >= 0; d--)
            {
                int i = rem % shape[d] - (int)pads[d]; rem /= shape[d];
                int size = x.Shape[d];
                if (i < 0 || i >= size)
                {
                    switch (mode)
                    {
                        case "constant": outside = true; break;
                        case "edge": i = Math.Clamp(i, 0, size - 1); break;
                        case "reflect":
                            if (size == 1) { i = 0; break; }
                            int period = 2 * (size - 1);
                            i = ((i % period) + period) % period;
                            if (i >= size) i = period - i;
                            break;
                        default: throw new VisionException($"Pad: unknown mode \"{mode}\"");
                    }
                }
                offset += i * inStrides[d];
            }
            dst[o] = outside ? value : src[offset];
        }
        return NdArray.Of(dst, shape);
    }

    public static int[] Strides(int[] shape)
    {
        var s = new int[shape.Length];
        int stride = 1;
        for (int d = shape.Length - 1; d >= 0; d--) { s[d] = stride; stride *= shape[d]; }
        return s;
    }

    /// <summary>Source offset of every output element, walking <paramref name="shape"/> with the given input strides.</summary>
    static int[] GatherIndex(int[] shape, int[] strides, int baseOffset)
    {
        int total = NdArray.ElementCount(shape);
        var index = new int[total];
        if (total == 0) return index;
        int rank = shape.Length;
        var coord = new int[rank];
        int offset = baseOffset;
        for (int o = 0; o < total; o++)
        {
            index[o] = offset;
            for (int d = rank - 1; d >= 0; d--)
            {
                coord[d]++; offset += strides[d];
                if (coord[d] < shape[d]) break;
                offset -= coord[d] * strides[d]; coord[d] = 0;
            }
        }
        return index;
    }

    static NdArray Take(NdArray x, int[] index, int[] shape)
    {
        if (x.IsInteger)
        {
            var src = x.Longs; var dst = new long[index.Length];
            for (int i = 0; i < index.Length; i++) dst[i] = src[index[i]];
            return NdArray.OfLongs(dst, shape);
        }
        else
        {
            var src = x.Floats; var dst = new float[index.Length];
            for (int i = 0; i < index.Length; i++) dst[i] = src[index[i]];
            return NdArray.Of(dst, shape);
        }
    }
}
