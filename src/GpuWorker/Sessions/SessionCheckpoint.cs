using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using StarKv.Compression.Api;
using StarKv.GpuWorker.Cache;
using TorchSharp;

namespace StarKv.GpuWorker.Sessions;

/// <summary>A screenshot a re-prefilling session keeps for its next steps: the step it belongs to and its PNG/JPEG bytes.</summary>
internal sealed record SavedScreenshot(int StepIndex, byte[] Bytes);

/// <summary>Whether a checkpoint holds a whole session or what one step changed.</summary>
internal enum SessionCheckpointKind : byte
{
    /// <summary>The whole session: a chain starts with one.</summary>
    Full = 1,

    /// <summary>What the step <c>StepsTaken − 1</c> changed, applied on the session after step <c>StepsTaken − 2</c>.</summary>
    Delta = 2,
}

/// <summary>
/// A saved <see cref="AgentSession"/>: the whole session (<see cref="SessionCheckpointKind.Full"/>) or what its last step
/// changed (<see cref="SessionCheckpointKind.Delta"/>). Captured between steps without copying the cache (its tensors are
/// views of the cache's stored entries, which the cache never rewrites in place) and written later, streamed, by
/// <see cref="WriteTo"/>.
/// <para>
/// Payload layout, little-endian, version <see cref="FormatVersion"/>: ASCII magic <c>SKVS</c>; int32 version; byte kind;
/// string model fingerprint; options (string method, double budget ratio, bool + int32 budget tokens, int32 mode, int32
/// max new tokens, int32 history screenshots, string task, int32 seed); int32 steps taken; int64 next position; bool +
/// string task prompt; int32 index of the first history entry held (0 in a full checkpoint, the base's step count in a
/// delta), int32 count and per step (string instruction, string reply, int32 image tokens); int32 count and the pending
/// token ids; int32 count and per screenshot held (int32 step index, int32 length, bytes: every kept screenshot in a full
/// checkpoint, the new ones in a delta); int32 count and the step indices of the screenshots kept after this checkpoint;
/// int32 length and the compressor state (<see cref="CompressorState.ToBytes"/>); int32 layer count and per layer, in a
/// full checkpoint: int64 seen tokens, int32 G, int64 N, int32 D, int32 dtype (<see cref="torch.ScalarType"/>), keys then
/// values as raw <c>[G, N, D]</c> row-major bytes in that dtype, then G·N bookkeeping entries head by head (int64
/// position, byte modality, int32 screenshot, int32 row, int32 col); in a delta: int64 seen tokens, int64 base count,
/// int32 G, int32 D, int32 dtype, bool whether every committed entry was kept, then per head: (unless all were kept)
/// int64 count a and a int64 indices of the kept committed entries, int64 count n of new entries, their keys and values
/// as raw <c>[n, D]</c> bytes, and n bookkeeping entries.
/// </para>
/// <para>
/// Integrity: a checkpoint streamed into a store carries no hash of its own; the store hashes the bytes once as they
/// go out and checks them when they come back. The byte form of <see cref="ToBytes"/> (a session's <c>Save</c>, handed
/// around outside a store) appends the SHA-256 of the payload, and <see cref="Read"/> checks it when told to.
/// </para>
/// </summary>
internal sealed class SessionCheckpoint : ISessionCheckpoint
{
    public const int FormatVersion = 2;

    private const int HashBytes = 32;
    private const int MaxChunkBytes = 1 << 24;
    private static readonly byte[] Magic = Encoding.ASCII.GetBytes("SKVS");

    public required SessionCheckpointKind Kind { get; init; }

    public required string Fingerprint { get; init; }

    public required SessionOptions Options { get; init; }

    public required int StepsTaken { get; init; }

    public required long NextPosition { get; init; }

    public required string? TaskPrompt { get; init; }

    /// <summary>Index in the session's history of <see cref="History"/>'s first entry.</summary>
    public required int HistoryFrom { get; init; }

    /// <summary>The history entries from <see cref="HistoryFrom"/> to <see cref="StepsTaken"/>.</summary>
    public required IReadOnlyList<SessionHistoryStep> History { get; init; }

    public required IReadOnlyList<int> PendingIds { get; init; }

    /// <summary>Every kept screenshot (full) or the ones added since the base (delta).</summary>
    public required IReadOnlyList<SavedScreenshot> Screenshots { get; init; }

    /// <summary>The step indices of the screenshots the session keeps after this checkpoint.</summary>
    public required IReadOnlyList<int> KeptScreenshotSteps { get; init; }

    public required byte[] CompressorState { get; init; }

    /// <summary>Per layer (full checkpoint); empty when the session holds no cache between steps, or in a delta.</summary>
    public IReadOnlyList<LayerKvSnapshot> Layers { get; init; } = [];

    /// <summary>Per layer (delta); empty when the session holds no cache between steps, or in a full checkpoint.</summary>
    public IReadOnlyList<LayerKvDelta> LayerDeltas { get; init; } = [];

    public bool IsDelta => Kind == SessionCheckpointKind.Delta;

    public void Dispose()
    {
        foreach (var layer in Layers)
        {
            layer.Dispose();
        }

        foreach (var delta in LayerDeltas)
        {
            delta.Dispose();
        }
    }

    /// <summary>Writes the payload into <paramref name="destination"/> as it serialises it (no hash; see the class remarks).</summary>
    public void WriteTo(Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Session checkpoints are written on little-endian hosts only.");
        }

        using var writer = new BinaryWriter(destination, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(FormatVersion);
        writer.Write((byte)Kind);
        writer.Write(Fingerprint);
        WriteOptions(writer, Options);
        writer.Write(StepsTaken);
        writer.Write(NextPosition);
        writer.Write(TaskPrompt is not null);
        writer.Write(TaskPrompt ?? "");
        writer.Write(HistoryFrom);
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

        writer.Write(KeptScreenshotSteps.Count);
        foreach (var step in KeptScreenshotSteps)
        {
            writer.Write(step);
        }

        writer.Write(CompressorState.Length);
        writer.Write(CompressorState);
        if (Kind == SessionCheckpointKind.Full)
        {
            writer.Write(Layers.Count);
            foreach (var layer in Layers)
            {
                cancellationToken.ThrowIfCancellationRequested();
                WriteLayer(writer, layer);
            }
        }
        else
        {
            writer.Write(LayerDeltas.Count);
            foreach (var delta in LayerDeltas)
            {
                cancellationToken.ThrowIfCancellationRequested();
                WriteDelta(writer, delta);
            }
        }

        writer.Flush();
    }

    /// <summary>The payload followed by its SHA-256, as one array (a session's <c>Save</c>).</summary>
    public byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        WriteTo(stream, CancellationToken.None);
        var hash = SHA256.HashData(stream.GetBuffer().AsSpan(0, (int)stream.Length));
        stream.Write(hash);
        return stream.ToArray();
    }

    /// <summary>Reads a checkpoint written by <see cref="WriteTo"/> (or, with <paramref name="hashed"/>, by <see cref="ToBytes"/>); tensors land on the CPU.</summary>
    /// <exception cref="SessionCheckpointException">Another format version or model, or damaged bytes.</exception>
    public static SessionCheckpoint Read(ReadOnlyMemory<byte> bytes, string expectedFingerprint, bool hashed)
    {
        var span = bytes.Span;
        if (span.Length < Magic.Length + sizeof(int) || !span[..Magic.Length].SequenceEqual(Magic))
        {
            throw new SessionCheckpointException("The bytes are not a session checkpoint: the 'SKVS' header is missing.");
        }

        var version = BitConverter.ToInt32(span.Slice(Magic.Length, sizeof(int)));
        if (version != FormatVersion)
        {
            throw new SessionCheckpointException(
                $"Session checkpoint format version {version} cannot be read: expected version {FormatVersion}.");
        }

        var body = bytes;
        if (hashed)
        {
            if (span.Length < Magic.Length + sizeof(int) + HashBytes)
            {
                throw new SessionCheckpointException($"The session checkpoint is truncated: {span.Length} bytes.");
            }

            body = bytes[..^HashBytes];
            if (!SHA256.HashData(body.Span).AsSpan().SequenceEqual(span[^HashBytes..]))
            {
                throw new SessionCheckpointException(
                    $"The session checkpoint is damaged or truncated: its SHA-256 does not match its {span.Length} bytes.");
            }
        }

        var layers = new List<LayerKvSnapshot>();
        var deltas = new List<LayerKvDelta>();
        try
        {
            using var stream = AsStream(body[(Magic.Length + sizeof(int))..]);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            var kind = (SessionCheckpointKind)reader.ReadByte();
            if (kind is not (SessionCheckpointKind.Full or SessionCheckpointKind.Delta))
            {
                throw new SessionCheckpointException($"The session checkpoint is damaged: unknown kind {(int)kind}.");
            }

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
            var historyFrom = ReadCount(reader, "first history index");
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

            var kept = new int[ReadCount(reader, "kept screenshot count")];
            for (var i = 0; i < kept.Length; i++)
            {
                kept[i] = reader.ReadInt32();
            }

            var state = ReadExactly(reader, ReadCount(reader, "compressor state length"));
            var layerCount = ReadCount(reader, "layer count");
            for (var i = 0; i < layerCount; i++)
            {
                if (kind == SessionCheckpointKind.Full)
                {
                    layers.Add(ReadLayer(reader, i));
                }
                else
                {
                    deltas.Add(ReadDelta(reader, i));
                }
            }

            if (stream.Position != stream.Length)
            {
                throw new SessionCheckpointException($"The session checkpoint has {stream.Length - stream.Position} unexpected bytes after its last layer.");
            }

            if (historyFrom + history.Length != steps || (kind == SessionCheckpointKind.Full && historyFrom != 0) || (kind == SessionCheckpointKind.Delta && history.Length == 0))
            {
                throw new SessionCheckpointException($"The session checkpoint records {steps} steps but history entries {historyFrom} to {historyFrom + history.Length} ({kind}).");
            }

            return new SessionCheckpoint
            {
                Kind = kind,
                Fingerprint = fingerprint,
                Options = options,
                StepsTaken = steps,
                NextPosition = nextPosition,
                TaskPrompt = hasTaskPrompt ? taskPrompt : null,
                HistoryFrom = historyFrom,
                History = history,
                PendingIds = pending,
                Screenshots = screenshots,
                KeptScreenshotSteps = kept,
                CompressorState = state,
                Layers = layers,
                LayerDeltas = deltas,
            };
        }
        catch (Exception e) when (e is EndOfStreamException or FormatException or ArgumentException)
        {
            DisposeAll(layers, deltas);
            throw new SessionCheckpointException($"The session checkpoint is damaged: {e.Message}", e);
        }
        catch
        {
            DisposeAll(layers, deltas);
            throw;
        }
    }

    private static MemoryStream AsStream(ReadOnlyMemory<byte> bytes) =>
        MemoryMarshal.TryGetArray(bytes, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(bytes.ToArray(), writable: false);

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
        for (var g = 0; g < keys.shape[0]; g++)
        {
            using var head = keys[g]; // [N, D]
            WriteRows(writer, head);
        }

        for (var g = 0; g < keys.shape[0]; g++)
        {
            using var head = layer.Values[g]; // [N, D]
            WriteRows(writer, head);
        }

        foreach (var head in layer.Tokens)
        {
            WriteTokens(writer, head);
        }
    }

    private static void WriteDelta(BinaryWriter writer, LayerKvDelta delta)
    {
        var heads = delta.NewKeys.Count;
        var first = delta.NewKeys[0];
        writer.Write(delta.SeenTokens);
        writer.Write(delta.BaseCount);
        writer.Write(heads);
        writer.Write((int)first.shape[1]);
        writer.Write((int)first.dtype);
        writer.Write(delta.KeptOld is null);
        for (var g = 0; g < heads; g++)
        {
            if (delta.KeptOld is { } kept)
            {
                writer.Write((long)kept[g].Count);
                foreach (var index in kept[g])
                {
                    writer.Write(index);
                }
            }

            writer.Write(delta.NewKeys[g].shape[0]);
            WriteRows(writer, delta.NewKeys[g]);
            WriteRows(writer, delta.NewValues[g]);
            WriteTokens(writer, delta.NewTokens[g]);
        }
    }

    private static void WriteTokens(BinaryWriter writer, IReadOnlyList<TokenInfo> tokens)
    {
        foreach (var token in tokens)
        {
            writer.Write(token.Position);
            writer.Write((byte)token.Modality);
            writer.Write(token.ScreenshotIndex);
            writer.Write(token.GridRow);
            writer.Write(token.GridCol);
        }
    }

    private static LayerKvSnapshot ReadLayer(BinaryReader reader, int index)
    {
        var seen = reader.ReadInt64();
        var heads = reader.ReadInt32();
        var count = reader.ReadInt64();
        var dim = reader.ReadInt32();
        var dtype = (torch.ScalarType)reader.ReadInt32();
        if (heads <= 0 || dim <= 0 || count < 0 || seen < count || !IsCacheDType(dtype))
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
                tokens[g] = ReadTokens(reader, count);
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

    private static LayerKvDelta ReadDelta(BinaryReader reader, int index)
    {
        var seen = reader.ReadInt64();
        var baseCount = reader.ReadInt64();
        var heads = reader.ReadInt32();
        var dim = reader.ReadInt32();
        var dtype = (torch.ScalarType)reader.ReadInt32();
        var keptAll = reader.ReadBoolean();
        if (heads <= 0 || dim <= 0 || baseCount < 0 || seen < baseCount || !IsCacheDType(dtype))
        {
            throw new SessionCheckpointException($"Layer {index} of the session checkpoint delta has an impossible shape or dtype: G={heads}, base {baseCount}, D={dim}, seen {seen}, dtype {dtype}.");
        }

        var kept = keptAll ? null : new IReadOnlyList<long>[heads];
        var keys = new List<torch.Tensor>(heads);
        var values = new List<torch.Tensor>(heads);
        var tokens = new IReadOnlyList<TokenInfo>[heads];
        try
        {
            for (var g = 0; g < heads; g++)
            {
                if (kept is not null)
                {
                    var old = new long[ReadLength(reader, baseCount, "kept entry count")];
                    for (var j = 0; j < old.Length; j++)
                    {
                        old[j] = reader.ReadInt64();
                    }

                    kept[g] = old;
                }

                var added = ReadLength(reader, seen, "new entry count");
                keys.Add(ReadTensor(reader, [added, dim], dtype)); // [n, D]
                values.Add(ReadTensor(reader, [added, dim], dtype)); // [n, D]
                tokens[g] = ReadTokens(reader, added);
            }

            return new LayerKvDelta(baseCount, kept, keys, values, tokens, seen);
        }
        catch
        {
            foreach (var tensor in keys.Concat(values))
            {
                tensor.Dispose();
            }

            throw;
        }
    }

    private static TokenInfo[] ReadTokens(BinaryReader reader, long count)
    {
        var head = new TokenInfo[count];
        for (var j = 0; j < count; j++)
        {
            var position = reader.ReadInt64();
            var modality = (TokenModality)reader.ReadByte();
            head[j] = new TokenInfo(position, modality, reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32());
        }

        return head;
    }

    private static bool IsCacheDType(torch.ScalarType dtype) =>
        dtype is torch.ScalarType.Float32 or torch.ScalarType.Float16 or torch.ScalarType.BFloat16 or torch.ScalarType.Float64;

    /// <summary>Writes a tensor's rows, read on the host (row-major; the rows of one cache head are contiguous).</summary>
    private static void WriteRows(BinaryWriter writer, torch.Tensor tensor)
    {
        using var host = tensor.cpu();
        using var dense = host.contiguous();
        using var flat = dense.view(-1); // [elements]
        var elementSize = (int)dense.ElementSize;
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

    private static long ReadLength(BinaryReader reader, long atMost, string what)
    {
        var count = reader.ReadInt64();
        if (count < 0 || count > atMost)
        {
            throw new SessionCheckpointException($"The session checkpoint is damaged: impossible {what} {count} (at most {atMost}).");
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

    private static void DisposeAll(List<LayerKvSnapshot> layers, List<LayerKvDelta> deltas)
    {
        foreach (var layer in layers)
        {
            layer.Dispose();
        }

        foreach (var delta in deltas)
        {
            delta.Dispose();
        }
    }
}
