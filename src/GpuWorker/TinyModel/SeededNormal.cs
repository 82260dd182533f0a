namespace StarKv.GpuWorker.TinyModel;

/// <summary>
/// Normally distributed numbers from a 64-bit seed, by SplitMix64 and the Box–Muller transform: the same seed gives
/// the same numbers on every machine and runtime, independent of libtorch's generators.
/// </summary>
public sealed class SeededNormal
{
    private ulong _state;
    private double? _spare;

    public SeededNormal(ulong seed) => _state = seed;

    /// <summary>A seed for stream <paramref name="name"/> of <paramref name="seed"/> (FNV-1a over the name, mixed with the seed).</summary>
    public static ulong StreamSeed(int seed, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var hash = 14695981039346656037UL;
        foreach (var c in name)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash ^ ((ulong)(uint)seed * 0x9E3779B97F4A7C15UL);
    }

    /// <summary>The next number of a standard normal distribution.</summary>
    public double Next()
    {
        if (_spare is { } spare)
        {
            _spare = null;
            return spare;
        }

        // Uniforms in (0, 1]: 53 random bits, never zero, so the logarithm is finite.
        var u1 = ((NextBits() >> 11) + 1) * (1.0 / 9007199254740992.0);
        var u2 = (NextBits() >> 11) * (1.0 / 9007199254740992.0);
        var radius = Math.Sqrt(-2.0 * Math.Log(u1));
        _spare = radius * Math.Sin(2 * Math.PI * u2);
        return radius * Math.Cos(2 * Math.PI * u2);
    }

    private ulong NextBits()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
