using StarKv.Compression.Api;
using StarKv.Compression.Methods;
using StarKv.Compression.StarKv;

namespace StarKv.Compression;

/// <summary>Builds compressors by their configured name.</summary>
public interface ICompressorFactory
{
    /// <exception cref="ArgumentException">The name is not one of <see cref="CompressorFactory.Names"/>.</exception>
    IKvCompressor Create(string name, CompressorOptions options);
}

/// <summary>
/// The compressors by name: "full", "random", "streamingllm", "h2o", "snapkv", "pyramidkv", "guikv", "starkv",
/// "starkv-faithful" (case-insensitive). Create one per session; a compressor holds no session data (that
/// lives in <see cref="CompressorState"/>), so one instance may also serve many sessions.
/// </summary>
public sealed class CompressorFactory : ICompressorFactory
{
    public static IReadOnlyList<string> Names { get; } =
        ["full", "random", "streamingllm", "h2o", "snapkv", "pyramidkv", "guikv", "starkv", "starkv-faithful"];

    private const int DefaultWindow = 8;

    public IKvCompressor Create(string name, CompressorOptions options)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        if (options.WindowSize is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.WindowSize, "CompressorOptions.WindowSize must be positive.");
        }

        var window = options.WindowSize ?? DefaultWindow;
        var snapWindow = options.WindowSize ?? SnapKvCompressor.DefaultWindow;
        return name.Trim().ToLowerInvariant() switch
        {
            "full" => new FullCompressor(window),
            "random" => new RandomCompressor(window, options.Seed),
            "streamingllm" => new StreamingLlmCompressor(window),
            "h2o" => new H2OCompressor(window),
            "snapkv" => new SnapKvCompressor(snapWindow) { Pooling = options.Pooling, PoolingKernel = options.PoolingKernel },
            "pyramidkv" => new PyramidKvCompressor(snapWindow) { Pooling = options.Pooling, PoolingKernel = options.PoolingKernel },
            "guikv" => new GuiKvCompressor(window) { Pooling = options.Pooling, PoolingKernel = options.PoolingKernel },
            "starkv" => StarKv(window, options.StarKvMode, options),
            "starkv-faithful" => StarKv(window, StarKvMode.Faithful, options),
            _ => throw new ArgumentException(
                $"Unknown compressor '{name}'. Known compressors: {string.Join(", ", Names)}.", nameof(name)),
        };
    }

    private static StarKvCompressor StarKv(int window, StarKvMode mode, CompressorOptions options) => new(window, mode)
    {
        UseSpatialPrior = options.UseSpatialPrior,
        UseTemporalDiscount = options.UseTemporalDiscount,
        UseEntropyTemperature = options.UseEntropyTemperature,
        Pooling = options.Pooling,
        PoolingKernel = options.PoolingKernel,
    };
}
