using System.Security.Cryptography;
using System.Text;
using StarKv.Compression.Api;
using StarKv.GpuWorker.Cache;
using TorchSharp;

namespace StarKv.GpuWorker.Sessions;

/// <summary>A screenshot a re-prefilling session keeps for its next steps: the step it belongs to and its PNG/JPEG bytes.</summary>
internal sealed record SavedScreenshot(int StepIndex, byte[] Bytes);

/// <summary>
/// The byte form of a saved <see cref="AgentSession"/>.
/// <para>
/// Layout, little-endian, version <see cref="FormatVersion"/>: ASCII magic <c>SKVS</c>; int32 version; then the body;
/// then the SHA-256 of every byte before it (32 bytes). Strings are .NET <see cref="BinaryWriter"/> strings (7-bit
/// encoded length, UTF-8). Body: string model fingerprint; options (string method, double budget ratio, bool + int32
/// budget tokens, int32 mode, int32 max new tokens, int32 history screenshots, string task, int32 seed); int32 steps
/// taken; int64 next position; bool + string task prompt; int32 history count and per step (string instruction,
/// string reply, int32 image tokens); int32 count and the pending token ids (generated, not yet in the cache); int32
/// count and per kept screenshot (int32 step index, int32 length, bytes); int32 length and the compressor state
/// (<see cref="CompressorState.ToBytes"/>); int32 layer count and per layer: int64 seen tokens, int32 G, int64 N, int32
/// D, int32 dtype (<see cref="torch.ScalarType"/>), keys then values as raw <c>[G, N, D]</c> row-major bytes in that
/// dtype, then G·N bookkeeping entries head by head (int64 position, byte modality, int32 screenshot, int32 row,
/// int32 col).
/// </para>
/// </summary>
internal sealed class SessionCheckpoint : IDisposable
{
    public const int FormatVersion = 1;

    private const int HashBytes = 32;
    private const int MaxChunkBytes = 1 << 24;
    private static readonly byte[] Magic = Encoding.ASCII.GetBytes("SKVS");

    public required string Fingerprint { get; init; }

    public required SessionOptions Options { get; init; }

    public required int StepsTaken { get; init; }

    public required long NextPosition { get; init; }

    public required string? TaskPrompt { get; init; }

    public required IReadOnlyList<SessionHistoryStep> History { get; init; }

    public required IReadOnlyList<int> PendingIds { get; init; }

    public required IReadOnlyList<SavedScreenshot> Screenshots { get; init; }

    public required byte[] CompressorState { get; init; }

    /// <summary>Per layer, on the CPU; empty when the session holds no cache between steps.</summary>
    public required IReadOnlyList<LayerKvSnapshot> Layers { get; init; }

    public void Dispose()
    {
        foreach (var layer in Layers)
        {
            layer.Dispose();
        }
    }

    public byte[] ToBytes()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Session checkpoints are written on little-endian hosts only.");
        }

        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(Fingerprint);
            WriteOptions(writer, Options);
            writer.Write(StepsTaken);
            writer.Write(NextPosition);
            writer.Write(TaskPrompt is not null);
            writer.Write(TaskPrompt ?? "");
            writer.Write(History.Count);
            foreach (var step in History)
            {
                writer.Write(step.Instruction);
                writer.Write(step.Reply);
                writer.Write(step.ImageTokens);
            }

            writer.Write(PendingIds.Count);
            foreach (var id in PendingIds)
            {
                writer.Write(id);
            }

            writer.Write(Screenshots.Count);
            foreach (var shot in Screenshots)
            {
                writer.Write(shot.StepIndex);
                writer.Write(shot.Bytes.Length);
                writer.Write(shot.Bytes);
            }

            writer.Write(CompressorState.Length);
            writer.Write(CompressorState);
            writer.Write(Layers.Count);
            foreach (var layer in Layers)
            {
                WriteLayer(writer, layer);
            }
        }

        var hash = SHA256.HashData(stream.GetBuffer().AsSpan(0, (int)stream.Length));
        stream.Write(hash);
        return stream.ToArray();
    }

    /// <summary>Reads a checkpoint written by <see cref="ToBytes"/>; the layers' tensors are on the CPU.</summary>
    /// <exception cref="SessionCheckpointException">Another format version or model, or damaged bytes.</exception>
    public static SessionCheckpoint Read(ReadOnlySpan<byte> bytes, string expectedFingerprint)
    {
        if (bytes.Length < Magic.Length + sizeof(int) || !bytes[..Magic.Length].SequenceEqual(Magic))
        {
            throw new SessionCheckpointException("The bytes are not a session checkpoint: the 'SKVS' header is missing.");
        }

        var version = BitConverter.ToInt32(bytes.Slice(Magic.Length, sizeof(int)));
        if (version != FormatVersion)
        {
            throw new SessionCheckpointException(
                $"Session checkpoint format version {version} cannot be read: expected version {FormatVersion}.");
        }

        if (bytes.Length < Magic.Length + sizeof(int) + HashBytes)
        {
            throw new SessionCheckpointException($"The session checkpoint is truncated: {bytes.Length} bytes.");
        }

        var body = bytes[..^HashBytes];
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes[^HashBytes..]))
        {
            throw new SessionCheckpointException(
                $"The session checkpoint is damaged or truncated: its SHA-256 does not match its {bytes.Length} bytes.");
        }

        var layers = new List<LayerKvSnapshot>();
        try
        {
            using var stream = new MemoryStream(body[(Magic.Length + sizeof(int))..].ToArray());
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            var fingerprint = reader.ReadString();
            if (!string.Equals(fingerprint, expectedFingerprint, StringComparison.Ordinal))
            {
                throw new SessionCheckpointException(
                    $"The session checkpoint belongs to another model: expected model fingerprint {expectedFingerprint}, found {fingerprint}.");
            }

            var options = ReadOptions(reader);
            var steps = ReadCount(reader, "step count");
            var nextPosition = reader.ReadInt64();
            var hasTaskPrompt = reader.ReadBoolean();
            var taskPrompt = reader.ReadString();
            var history = new SessionHistoryStep[ReadCount(reader, "history length")];
            for (var i = 0; i < history.Length; i++)
            {
                history[i] = new SessionHistoryStep(reader.ReadString(), reader.ReadString(), reader.ReadInt32());
            }

            var pending = new int[ReadCount(reader, "pending token count")];
            for (var i = 0; i < pending.Length; i++)
            {
                pending[i] = reader.ReadInt32();
            }

            var screenshots = new SavedScreenshot[ReadCount(reader, "screenshot count")];
            for (var i = 0; i < screenshots.Length; i++)
            {
                var step = reader.ReadInt32();
                screenshots[i] = new SavedScreenshot(step, ReadExactly(reader, ReadCount(reader, "screenshot length")));
            }

            var state = ReadExactly(reader, ReadCount(reader, "compressor state length"));
            var layerCount = ReadCount(reader, "layer count");
            for (var i = 0; i < layerCount; i++)
            {
                layers.Add(ReadLayer(reader, i));
            }

            if (stream.Position != stream.Length)
            {
                throw new SessionCheckpointException($"The session checkpoint has {stream.Length - stream.Position} unexpected bytes after its last layer.");
            }

            if (history.Length != steps)
            {
                throw new SessionCheckpointException($"The session checkpoint records {steps} steps but {history.Length} history entries.");
            }

            return new SessionCheckpoint
            {
                Fingerprint = fingerprint,
                Options = options,
                StepsTaken = steps,
                NextPosition = nextPosition,
                TaskPrompt = hasTaskPrompt ? taskPrompt : null,
                History = history,
                PendingIds = pending,
                Screenshots = screenshots,
                CompressorState = state,
                Layers = layers,
            };
        }
        catch (Exception e) when (e is EndOfStreamException or FormatException or ArgumentException)
        {
            DisposeAll(layers);
            throw new SessionCheckpointException($"The session checkpoint is damaged: {e.Message}", e);
        }
        catch
        {
            DisposeAll(layers);
            throw;
        }
    }

    private static void WriteOptions(BinaryWriter writer, SessionOptions options)
    {
        writer.Write(options.Method);
        writer.Write(options.BudgetRatio);
        writer.Write(options.BudgetTokens.HasValue);
        writer.Write(options.BudgetTokens ?? 0);
        writer.Write((int)options.Mode);
        writer.Write(options.MaxNewTokens);
        writer.Write(options.HistoryScreenshots);
        writer.Write(options.Task);
        writer.Write(options.Seed);
    }

    private static SessionOptions ReadOptions(BinaryReader reader)
    {
        var method = reader.ReadString();
        var ratio = reader.ReadDouble();
        var hasTokens = reader.ReadBoolean();
        var tokens = reader.ReadInt32();
        return new SessionOptions
        {
            Method = method,
            BudgetRatio = ratio,
            BudgetTokens = hasTokens ? tokens : null,
            Mode = (SessionMode)reader.ReadInt32(),
            MaxNewTokens = reader.ReadInt32(),
            HistoryScreenshots = reader.ReadInt32(),
            Task = reader.ReadString(),
            Seed = reader.ReadInt32(),
        };
    }

    private static void WriteLayer(BinaryWriter writer, LayerKvSnapshot layer)
    {
        var keys = layer.Keys;
        writer.Write(layer.SeenTokens);
        writer.Write((int)keys.shape[0]);
        writer.Write(keys.shape[1]);
        writer.Write((int)keys.shape[2]);
        writer.Write((int)keys.dtype);
        WriteTensor(writer, keys);
        WriteTensor(writer, layer.Values);
        foreach (var head in layer.Tokens)
        {
            foreach (var token in head)
            {
                writer.Write(token.Position);
                writer.Write((byte)token.Modality);
                writer.Write(token.ScreenshotIndex);
                writer.Write(token.GridRow);
                writer.Write(token.GridCol);
            }
        }
    }

    private static LayerKvSnapshot ReadLayer(BinaryReader reader, int index)
    {
        var seen = reader.ReadInt64();
        var heads = reader.ReadInt32();
        var count = reader.ReadInt64();
        var dim = reader.ReadInt32();
        var dtype = (torch.ScalarType)reader.ReadInt32();
        if (heads <= 0 || dim <= 0 || count < 0 || seen < count || dtype is not (torch.ScalarType.Float32 or torch.ScalarType.Float16 or torch.ScalarType.BFloat16 or torch.ScalarType.Float64))
        {
            throw new SessionCheckpointException($"Layer {index} of the session checkpoint has an impossible shape or dtype: G={heads}, N={count}, D={dim}, seen {seen}, dtype {dtype}.");
        }

        var keys = ReadTensor(reader, [heads, count, dim], dtype); // [G, N, D]
        torch.Tensor? values = null;
        try
        {
            values = ReadTensor(reader, [heads, count, dim], dtype); // [G, N, D]
            var tokens = new IReadOnlyList<TokenInfo>[heads];
            for (var g = 0; g < heads; g++)
            {
                var head = new TokenInfo[count];
                for (var j = 0; j < count; j++)
                {
                    var position = reader.ReadInt64();
                    var modality = (TokenModality)reader.ReadByte();
                    head[j] = new TokenInfo(position, modality, reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32());
                }

                tokens[g] = head;
            }

            return new LayerKvSnapshot(keys, values, tokens, seen);
        }
        catch
        {
            keys.Dispose();
            values?.Dispose();
            throw;
        }
    }

    private static void WriteTensor(BinaryWriter writer, torch.Tensor tensor)
    {
        using var host = tensor.cpu().contiguous();
        using var flat = host.view(-1); // [elements]
        var elementSize = (int)host.ElementSize;
        var chunk = MaxChunkBytes / elementSize;
        for (long start = 0; start < flat.shape[0]; start += chunk)
        {
            using var part = flat.narrow(0, start, Math.Min(chunk, flat.shape[0] - start)); // [≤ chunk]
            writer.Write(part.bytes);
        }
    }

    private static torch.Tensor ReadTensor(BinaryReader reader, long[] shape, torch.ScalarType dtype)
    {
        var tensor = torch.empty(shape, dtype: dtype).DetachFromDisposeScope();
        try
        {
            using var flat = tensor.view(-1); // [elements]
            var elements = flat.shape[0];
            var remaining = reader.BaseStream.Length - reader.BaseStream.Position;
            if (elements * tensor.ElementSize > remaining)
            {
                throw new EndOfStreamException($"A [{string.Join(", ", shape)}] {dtype} tensor needs {elements * tensor.ElementSize} bytes but {remaining} remain.");
            }

            var chunk = MaxChunkBytes / (int)tensor.ElementSize;
            for (long start = 0; start < elements; start += chunk)
            {
                using var part = flat.narrow(0, start, Math.Min(chunk, elements - start)); // [≤ chunk]
                reader.BaseStream.ReadExactly(part.bytes);
            }

            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    private static int ReadCount(BinaryReader reader, string what)
    {
        var count = reader.ReadInt32();
        if (count < 0 || count > reader.BaseStream.Length)
        {
            throw new SessionCheckpointException($"The session checkpoint is damaged: impossible {what} {count}.");
        }

        return count;
    }

    private static byte[] ReadExactly(BinaryReader reader, int count)
    {
        var bytes = reader.ReadBytes(count);
        if (bytes.Length != count)
        {
            throw new EndOfStreamException($"Expected {count} bytes, found {bytes.Length}.");
        }

        return bytes;
    }

    private static void DisposeAll(List<LayerKvSnapshot> layers)
    {
        foreach (var layer in layers)
        {
            layer.Dispose();
        }
    }
}
