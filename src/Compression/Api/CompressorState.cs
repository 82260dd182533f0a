using System.Text;

namespace StarKv.Compression.Api;

/// <summary>
/// The per-session memory of a compressor (spatial MI averages, stability EMAs, each layer's compression-call counter).
/// Belongs to the session, is part of its checkpoint, and is reset only when a session starts.
/// </summary>
/// <remarks>
/// Byte layout (little-endian), version <see cref="FormatVersion"/>: the ASCII magic <c>SKVC</c>, int32 version,
/// int32 <see cref="Turns"/>, int32 plan length (−1: none) and that many doubles, int32 layer count, then per layer
/// (ascending index): int32 layer index, int32 groups, int32 compressing calls, double <c>Ĥ_l</c>, double <c>T</c>,
/// byte has-MI then G doubles, byte has-EMA then int32 rows, int32 cols, int32 screenshot index, int32 V and G×V
/// doubles. Version 1 had no per-layer call counter (its turn counter stood for t).
/// </remarks>
public sealed partial class CompressorState
{
    /// <summary>The version of the byte format written by <see cref="ToBytes"/>.</summary>
    public const int FormatVersion = 2;

    private static readonly byte[] Magic = Encoding.ASCII.GetBytes("SKVC");

    private readonly SortedDictionary<int, StarKvLayerMemory> _layers = [];

    private double[]? _layerEntropyPlan;

    /// <summary>
    /// How many turns this session has passed to its compressor, compressing or not (every compressor counts the call
    /// for layer 0 of a turn); the random baseline mixes it into its seed. STaR-KV's ramp counts each layer's
    /// compressing calls instead (<see cref="StarKvLayerMemory.CompressionCalls"/>).
    /// </summary>
    public int Turns { get; set; }

    /// <summary>
    /// The per-layer normalised entropies STaR-KV Adaptive splits this turn's budget by, taken at layer 0 of the
    /// turn from every layer's previous compression; null when no split is planned.
    /// </summary>
    public IReadOnlyList<double>? LayerEntropyPlan => _layerEntropyPlan;

    /// <summary>The layers that have memory, ascending.</summary>
    public IEnumerable<int> LayersWithMemory => _layers.Keys;

    /// <summary>The memory of a layer, or null when the layer has none yet.</summary>
    public StarKvLayerMemory? GetLayer(int layerIndex) => _layers.GetValueOrDefault(layerIndex);

    internal void SetLayerEntropyPlan(double[]? plan) => _layerEntropyPlan = plan;

    /// <summary>The memory of a layer, created empty on first use.</summary>
    internal StarKvLayerMemory GetOrCreateLayer(int layerIndex, int groups)
    {
        if (!_layers.TryGetValue(layerIndex, out var memory))
        {
            memory = new StarKvLayerMemory(groups);
            _layers.Add(layerIndex, memory);
        }
        else if (memory.Groups != groups)
        {
            throw new ArgumentException(
                $"Layer {layerIndex} has {groups} KV groups but the session's compressor state was built with {memory.Groups}.",
                nameof(groups));
        }

        return memory;
    }

    public byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(Turns);
            writer.Write(_layerEntropyPlan?.Length ?? -1);
            foreach (var value in _layerEntropyPlan ?? [])
            {
                writer.Write(value);
            }

            writer.Write(_layers.Count);
            foreach (var (index, layer) in _layers)
            {
                writer.Write(index);
                writer.Write(layer.Groups);
                writer.Write(layer.CompressionCalls);
                writer.Write(layer.NormalisedEntropy);
                writer.Write(layer.Temperature);
                writer.Write(layer.MutualInformation is not null);
                if (layer.MutualInformation is { } mi)
                {
                    foreach (var value in mi)
                    {
                        writer.Write(value);
                    }
                }

                writer.Write(layer.StabilityEma is not null);
                if (layer.StabilityEma is { } ema)
                {
                    writer.Write(layer.EmaGridRows);
                    writer.Write(layer.EmaGridCols);
                    writer.Write(layer.EmaScreenshotIndex);
                    writer.Write(ema[0].Length);
                    foreach (var group in ema)
                    {
                        foreach (var value in group)
                        {
                            writer.Write(value);
                        }
                    }
                }
            }
        }

        return stream.ToArray();
    }

    /// <summary>Restores a state written by <see cref="ToBytes"/>.</summary>
    /// <exception cref="CompressorStateFormatException">The bytes are of another version, not a state, or damaged.</exception>
    public static CompressorState FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < Magic.Length + sizeof(int) || !bytes[..Magic.Length].SequenceEqual(Magic))
        {
            throw new CompressorStateFormatException("The bytes are not a compressor state: the 'SKVC' header is missing.");
        }

        var version = BitConverter.ToInt32(bytes.Slice(Magic.Length, sizeof(int)));
        if (version != FormatVersion)
        {
            throw new CompressorStateFormatException(
                $"Compressor state format version {version} cannot be read; this build reads version {FormatVersion}.");
        }

        try
        {
            using var stream = new MemoryStream(bytes[(Magic.Length + sizeof(int))..].ToArray());
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            var state = new CompressorState { Turns = reader.ReadInt32() };
            var planLength = reader.ReadInt32();
            if (planLength >= 0)
            {
                state._layerEntropyPlan = ReadDoubles(reader, Math.Min(planLength, (int)stream.Length));
            }

            var layerCount = ReadCount(reader, "layer count");
            for (var i = 0; i < layerCount; i++)
            {
                var index = reader.ReadInt32();
                var groups = ReadCount(reader, "group count");
                var layer = new StarKvLayerMemory(groups)
                {
                    CompressionCalls = ReadCount(reader, "compression call count"),
                    NormalisedEntropy = reader.ReadDouble(),
                    Temperature = reader.ReadDouble(),
                };
                if (reader.ReadBoolean())
                {
                    layer.MutualInformation = ReadDoubles(reader, groups);
                }

                if (reader.ReadBoolean())
                {
                    layer.EmaGridRows = reader.ReadInt32();
                    layer.EmaGridCols = reader.ReadInt32();
                    layer.EmaScreenshotIndex = reader.ReadInt32();
                    var tokens = ReadCount(reader, "EMA length");
                    var ema = new double[groups][];
                    for (var g = 0; g < groups; g++)
                    {
                        ema[g] = ReadDoubles(reader, tokens);
                    }

                    layer.StabilityEma = ema;
                }

                if (!state._layers.TryAdd(index, layer))
                {
                    throw new CompressorStateFormatException($"Compressor state lists layer {index} twice.");
                }
            }

            if (stream.Position != stream.Length)
            {
                throw new CompressorStateFormatException(
                    $"Compressor state has {stream.Length - stream.Position} trailing bytes after its last layer.");
            }

            return state;
        }
        catch (EndOfStreamException e)
        {
            throw new CompressorStateFormatException("Compressor state is truncated.", e);
        }
    }

    private static int ReadCount(BinaryReader reader, string what)
    {
        var count = reader.ReadInt32();
        if (count < 0 || count > reader.BaseStream.Length)
        {
            throw new CompressorStateFormatException($"Compressor state has an impossible {what}: {count}.");
        }

        return count;
    }

    private static double[] ReadDoubles(BinaryReader reader, int count)
    {
        var values = new double[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = reader.ReadDouble();
        }

        return values;
    }
}
