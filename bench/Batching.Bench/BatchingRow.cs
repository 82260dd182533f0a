using System.Globalization;

namespace StarKv.Batching.Bench;

/// <summary>One run: <see cref="Sessions"/> sessions each taking the same steps at once on one runtime in one mode.</summary>
public sealed record BatchingRow(
    double Budget,
    int Sessions,
    string Mode,
    int Steps,
    double WallSeconds,
    double StepsPerSecond,
    double DecodeTokensPerSecond,
    double P50Ms,
    double P99Ms,
    long PeakResidentAboveStartBytes,
    double MeanDecodeRowsPerIteration)
{
    public string Line() => string.Create(CultureInfo.InvariantCulture,
        $"budget {Budget:P0} {Sessions,2} sessions {Mode,-7}: {StepsPerSecond,6:F2} steps/s, {DecodeTokensPerSecond,7:F1} decode tok/s, p50 {P50Ms,7:F0} ms, p99 {P99Ms,7:F0} ms, peak RSS +{PeakResidentAboveStartBytes / 1048576.0:F0} MiB, {MeanDecodeRowsPerIteration:F1} rows/iteration ({WallSeconds:F1} s)");
}
