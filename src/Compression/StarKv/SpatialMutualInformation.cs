using StarKv.Compression.Api;

namespace StarKv.Compression.StarKv;

/// <summary>
/// STaR-KV part (i): how much a KV group's attention over the current screenshot depends on where on the
/// screen a token is. Scores are rank-quantised into Q equal-frequency bins, <c>a_j = floor(rank_j · Q / V)</c>
/// (rank 0 is the lowest score; equal scores are ranked in cache order); each token's merged-grid cell (row, col)
/// of the real R × C grid maps onto S × S spatial bins by the cell's centre, as the published code does,
/// <c>y_j = floor((row + ½)·S/R)·S + floor((col + ½)·S/C)</c> (computed in integers as <c>⌊(2·row + 1)·S/(2R)⌋</c>);
/// <c>MI = Σ P(a,y) log(P(a,y) / (P(a) P(y)))</c> in nats from the joint histogram, clipped at 0, and 0 when
/// fewer than two tokens or either variable is constant.
/// </summary>
public static class SpatialMutualInformation
{
    /// <summary>Equal-frequency score bins Q.</summary>
    public const int DefaultScoreBins = 16;

    /// <summary>Spatial bins per side S.</summary>
    public const int DefaultSpatialBins = 12;

    /// <param name="scores">The group's scores of the screenshot's tokens.</param>
    /// <param name="rows">Each token's merged-grid row.</param>
    /// <param name="cols">Each token's merged-grid column.</param>
    /// <param name="grid">The screenshot's real merged grid.</param>
    /// <param name="scoreBins">Q.</param>
    /// <param name="spatialBins">S.</param>
    public static double Compute(
        IReadOnlyList<double> scores,
        IReadOnlyList<int> rows,
        IReadOnlyList<int> cols,
        ScreenshotGrid grid,
        int scoreBins = DefaultScoreBins,
        int spatialBins = DefaultSpatialBins)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(cols);
        var n = scores.Count;
        if (rows.Count != n || cols.Count != n)
        {
            throw new ArgumentException($"MI needs one cell per score: {n} scores, {rows.Count} rows, {cols.Count} cols.", nameof(rows));
        }

        if (n < 2 || scores.Min() == scores.Max())
        {
            return 0;
        }

        var order = new int[n];
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
        }

        var keys = new double[n];
        for (var i = 0; i < n; i++)
        {
            keys[i] = scores[i];
        }

        // Stable ascending rank: equal scores keep cache order.
        Array.Sort(order, (x, y) => keys[x] != keys[y] ? keys[x].CompareTo(keys[y]) : x.CompareTo(y));
        var scoreBin = new int[n];
        for (var rank = 0; rank < n; rank++)
        {
            scoreBin[order[rank]] = (int)((long)rank * scoreBins / n);
        }

        var cellBin = new int[n];
        for (var i = 0; i < n; i++)
        {
            if (rows[i] < 0 || rows[i] >= grid.Rows || cols[i] < 0 || cols[i] >= grid.Cols)
            {
                throw new ArgumentException(
                    $"Token {i} has cell ({rows[i]}, {cols[i]}) outside the {grid.Rows}×{grid.Cols} grid.", nameof(rows));
            }

            cellBin[i] = (CentreBin(rows[i], grid.Rows, spatialBins) * spatialBins) + CentreBin(cols[i], grid.Cols, spatialBins);
        }

        var joint = new double[scoreBins, spatialBins * spatialBins];
        var pa = new double[scoreBins];
        var py = new double[spatialBins * spatialBins];
        for (var i = 0; i < n; i++)
        {
            joint[scoreBin[i], cellBin[i]] += 1.0 / n;
            pa[scoreBin[i]] += 1.0 / n;
            py[cellBin[i]] += 1.0 / n;
        }

        if (pa.Count(p => p > 0) < 2 || py.Count(p => p > 0) < 2)
        {
            return 0;
        }

        var mi = 0.0;
        for (var a = 0; a < scoreBins; a++)
        {
            for (var y = 0; y < py.Length; y++)
            {
                var p = joint[a, y];
                if (p > 0)
                {
                    mi += p * Math.Log(p / (pa[a] * py[y]));
                }
            }
        }

        return Math.Max(0, mi);
    }

    /// <summary>The spatial bin of a cell's centre along one axis: <c>⌊(index + ½)·bins/size⌋</c>.</summary>
    public static int CentreBin(int index, int size, int bins = DefaultSpatialBins) =>
        (int)((((2L * index) + 1) * bins) / (2L * size));

    /// <summary>
    /// Group weights from the MI averages: <c>s_g = (M_g − min M)/(max M − min M)</c> (0.5 each when the spread
    /// is below 1e-12), <c>w_g = softmax(s_g / τ_mi)</c>.
    /// </summary>
    public static double[] GroupWeights(IReadOnlyList<double> averages, double temperature = 1.0)
    {
        ArgumentNullException.ThrowIfNull(averages);
        var min = averages.Min();
        var spread = averages.Max() - min;
        var logits = averages.Select(m => (spread < 1e-12 ? 0.5 : (m - min) / spread) / temperature).ToArray();
        var top = logits.Max();
        var exp = logits.Select(x => Math.Exp(x - top)).ToArray();
        var sum = exp.Sum();
        return exp.Select(e => e / sum).ToArray();
    }

    /// <summary>
    /// The ramp <c>λ_eff = 0</c> for t ≤ N, else <c>λ · min(1, (t − N)/R)</c>, t counting compressing calls only.
    /// </summary>
    public static double RampedWeight(int turn, double lambda = 0.5, int delay = 5, int rampTurns = 10) =>
        turn <= delay ? 0 : lambda * Math.Min(1.0, (double)(turn - delay) / rampTurns);
}
