namespace ModelVis.Render;

/// <summary>How a block of values becomes one pixel.</summary>
public enum ReduceMethod
{
    /// <summary>The element of largest magnitude, sign kept (extremes survive downsampling).</summary>
    MaxAbs,
    /// <summary>The arithmetic mean of the block.</summary>
    Mean,
}

/// <summary>A matrix after block reduction: <see cref="Rows"/> × <see cref="Cols"/> values, each summarising a
/// <see cref="RowFactor"/> × <see cref="ColFactor"/> block of the source (edge blocks may be smaller).</summary>
public sealed record Downsampled(float[] Values, int Rows, int Cols, int SourceRows, int SourceCols, int RowFactor, int ColFactor, ReduceMethod Method)
{
    public bool IsReduced => RowFactor > 1 || ColFactor > 1;
    public static string MethodName(ReduceMethod m) => m == ReduceMethod.Mean ? "mean" : "maxabs";
    public static ReduceMethod ParseMethod(string? name) => name?.ToLowerInvariant() switch
    {
        null or "" or "maxabs" or "max-abs" or "max_abs" => ReduceMethod.MaxAbs,
        "mean" or "avg" or "average" => ReduceMethod.Mean,
        _ => throw new ArgumentException($"unknown reduce method `{name}` (maxabs or mean)"),
    };
}

/// <summary>
/// Streaming block reduction of a rows × cols matrix: feed whole rows in order with <see cref="AddRows"/>
/// (any number at a time), then take <see cref="Result"/>. Memory is O(output), so a matrix far larger
/// than RAM can be reduced chunk by chunk. A block containing NaN reduces to NaN, so NaNs stay visible.
/// </summary>
public sealed class BlockReducer
{
    readonly int _rows, _cols, _rf, _cf, _outRows, _outCols;
    readonly ReduceMethod _method;
    readonly float[] _out;
    readonly double[] _sum;        // mean: running sums of the current output row
    readonly float[] _best;        // maxabs: element of largest |x| so far
    readonly bool[] _nan;
    int _row;

    public BlockReducer(int rows, int cols, int rowFactor, int colFactor, ReduceMethod method)
    {
        if (rows <= 0 || cols <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"matrix {rows}×{cols} must be non-empty");
        if (rowFactor <= 0 || colFactor <= 0) throw new ArgumentOutOfRangeException(nameof(rowFactor));
        _rows = rows; _cols = cols; _rf = rowFactor; _cf = colFactor; _method = method;
        _outRows = (rows + rowFactor - 1) / rowFactor;
        _outCols = (cols + colFactor - 1) / colFactor;
        _out = new float[checked(_outRows * _outCols)];
        _sum = new double[_outCols];
        _best = new float[_outCols];
        _nan = new bool[_outCols];
    }

    /// <summary>Factors so that the result has at most maxRows × maxCols values.</summary>
    public static BlockReducer ToFit(int rows, int cols, int maxRows, int maxCols, ReduceMethod method) =>
        new(rows, cols, Downsample.Factor(rows, maxRows), Downsample.Factor(cols, maxCols), method);

    public int OutRows => _outRows;
    public int OutCols => _outCols;
    public int RowsFed => _row;

    /// <summary>Feeds the next whole rows (length a multiple of cols).</summary>
    public void AddRows(ReadOnlySpan<float> data)
    {
        if (data.Length % _cols != 0) throw new ArgumentException($"chunk of {data.Length} values is not whole rows of {_cols}");
        int n = data.Length / _cols;
        if (_row + n > _rows) throw new InvalidOperationException($"fed {_row + n} rows into a {_rows}-row reducer");
        for (int r = 0; r < n; r++) AddRow(data.Slice(r * _cols, _cols));
    }

    void AddRow(ReadOnlySpan<float> row)
    {
        if (_row % _rf == 0) { Array.Clear(_sum); Array.Clear(_best); Array.Clear(_nan); }
        for (int oc = 0, c0 = 0; oc < _outCols; oc++, c0 += _cf)
        {
            var block = row.Slice(c0, Math.Min(_cf, _cols - c0));
            if (_method == ReduceMethod.Mean)
            {
                double s = 0;
                foreach (var v in block) s += v;
                _sum[oc] += s;
            }
            else
            {
                float best = _best[oc], bestAbs = Math.Abs(best);
                bool nan = false;
                foreach (var v in block)
                {
                    float a = Math.Abs(v);
                    if (a > bestAbs) { best = v; bestAbs = a; }
                    else if (float.IsNaN(v)) nan = true;
                }
                _best[oc] = best;
                if (nan) _nan[oc] = true;
            }
        }
        _row++;
        if (_row % _rf == 0 || _row == _rows) Flush();
    }

    void Flush()
    {
        int or = (_row - 1) / _rf;
        int blockRows = _row - or * _rf;
        var dst = _out.AsSpan(or * _outCols, _outCols);
        for (int oc = 0; oc < _outCols; oc++)
        {
            if (_method == ReduceMethod.Mean)
            {
                int blockCols = Math.Min(_cf, _cols - oc * _cf);
                dst[oc] = (float)(_sum[oc] / ((double)blockRows * blockCols));   // NaN propagates through the sum
            }
            else dst[oc] = _nan[oc] ? float.NaN : _best[oc];
        }
    }

    public Downsampled Result()
    {
        if (_row != _rows) throw new InvalidOperationException($"only {_row} of {_rows} rows were fed");
        return new Downsampled(_out, _outRows, _outCols, _rows, _cols, _rf, _cf, _method);
    }
}

public static class Downsample
{
    /// <summary>The smallest integer block size that brings <paramref name="n"/> down to at most <paramref name="max"/>.</summary>
    public static int Factor(long n, int max)
    {
        if (max <= 0) throw new ArgumentOutOfRangeException(nameof(max));
        return (int)Math.Max(1, (n + max - 1) / max);
    }

    /// <summary>Block-reduces a row-major rows × cols matrix to at most maxRows × maxCols (unchanged when it fits).</summary>
    public static Downsampled Reduce(ReadOnlySpan<float> data, int rows, int cols, int maxRows, int maxCols, ReduceMethod method = ReduceMethod.MaxAbs) =>
        ReduceBy(data, rows, cols, Factor(rows, maxRows), Factor(cols, maxCols), method);

    /// <summary>Block-reduces with explicit factors.</summary>
    public static Downsampled ReduceBy(ReadOnlySpan<float> data, int rows, int cols, int rowFactor, int colFactor, ReduceMethod method)
    {
        if ((long)rows * cols != data.Length) throw new ArgumentException($"{data.Length} values are not a {rows}×{cols} matrix");
        if (rowFactor == 1 && colFactor == 1)
            return new Downsampled(data.ToArray(), rows, cols, rows, cols, 1, 1, method);
        var r = new BlockReducer(rows, cols, rowFactor, colFactor, method);
        r.AddRows(data);
        return r.Result();
    }
}
