using System.Buffers.Binary;
using System.Text;
using StarKv.GpuWorker.Sessions;

namespace StarKv.Grains.Tests.Fakes;

/// <summary>
/// A deterministic stand-in for the model runtime: each step's answer is a UI-TARS action whose point is drawn from a
/// hash of the session's history (seed, every screenshot's bytes, every instruction), so two sessions fed the same steps
/// answer the same, and a session restored from a checkpoint answers as if it had never stopped. Checkpoints are real
/// bytes with a magic, the model fingerprint and the session's counters.
/// </summary>
public sealed class FakeModelRuntime(string modelId = "tiny", string fingerprint = "fp-tiny-1", string device = "cpu") : IModelRuntime
{
    private static readonly byte[] Magic = "SKVFAKE1"u8.ToArray();
    private static readonly byte[] DeltaMagic = "SKVFAKED"u8.ToArray();
    private int _created;
    private int _restored;
    private int _deltasApplied;
    private int _steps;

    public string ModelId { get; } = modelId;

    public string Fingerprint { get; } = fingerprint;

    public string Device { get; } = device;

    /// <summary>Bytes one cached token costs (an arbitrary round figure).</summary>
    public long KvBytesPerToken => 1024;

    /// <summary>Wall time each step takes, to let tests overlap steps.</summary>
    public TimeSpan StepDelay { get; init; }

    /// <summary>When set, every step waits for it (a step held as long as a test wants, as a long prefill would be).</summary>
    public ManualResetEventSlim? StepGate { get; set; }

    public int SessionsCreated => Volatile.Read(ref _created);

    public int SessionsRestored => Volatile.Read(ref _restored);

    /// <summary>Deltas applied by chain restores (<see cref="RestoreSession(IReadOnlyList{ReadOnlyMemory{byte}})"/>).</summary>
    public int DeltasApplied => Volatile.Read(ref _deltasApplied);

    /// <summary>Steps run by all sessions of this runtime (replayed steps do not reach the runtime).</summary>
    public int StepsRun => Volatile.Read(ref _steps);

    internal void CountStep() => Interlocked.Increment(ref _steps);

    /// <summary>The methods the real runtime knows; any other is refused as the real one refuses it.</summary>
    public static IReadOnlyList<string> Methods { get; } = ["full", "random", "streamingllm", "h2o", "snapkv", "pyramidkv", "guikv", "starkv", "starkv-faithful"];

    /// <summary>When set, <see cref="CreateSession"/> throws what it returns (null: creates), to test failures past validation.</summary>
    public Func<SessionOptions, Exception?>? CreateFault { get; set; }

    public IAgentSession CreateSession(SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Methods.Contains(options.Method))
        {
            throw new ArgumentException($"Unknown compression method '{options.Method}'. Known methods: {string.Join(", ", Methods)}.", nameof(options));
        }

        if (CreateFault?.Invoke(options) is { } fault)
        {
            throw fault;
        }

        Interlocked.Increment(ref _created);
        return new FakeAgentSession(this, options, stepsTaken: 0, history: (ulong)(uint)options.Seed ^ 0xcbf29ce484222325UL, seenTokens: 0);
    }

    /// <summary>Restores the first (full) checkpoint, then checks that each delta continues the state before it and takes its state.</summary>
    public IAgentSession RestoreSession(IReadOnlyList<ReadOnlyMemory<byte>> chain)
    {
        ArgumentNullException.ThrowIfNull(chain);
        var session = (FakeAgentSession)RestoreSession(chain[0].Span);
        for (var i = 1; i < chain.Count; i++)
        {
            var delta = chain[i].Span;
            if (delta.Length < DeltaMagic.Length + 4 || !delta[..DeltaMagic.Length].SequenceEqual(DeltaMagic))
            {
                throw new SessionCheckpointException($"Checkpoint {i} of the chain is no delta.");
            }

            var continues = BinaryPrimitives.ReadInt32LittleEndian(delta[DeltaMagic.Length..]);
            if (continues != session.StepsTaken)
            {
                throw new SessionCheckpointException($"The checkpoint chain has a gap: delta {i} continues {continues} steps, the session has taken {session.StepsTaken}.");
            }

            session = (FakeAgentSession)RestoreSession(delta[(DeltaMagic.Length + 4)..]);
            Interlocked.Increment(ref _deltasApplied);
            Interlocked.Decrement(ref _restored);
        }

        session.CapturedSteps = session.StepsTaken;
        return session;
    }

    public IAgentSession RestoreSession(ReadOnlySpan<byte> checkpoint)
    {
        if (checkpoint.Length < Magic.Length || !checkpoint[..Magic.Length].SequenceEqual(Magic))
        {
            throw new InvalidDataException("The checkpoint does not start with the fake runtime's magic.");
        }

        var reader = new SpanReader(checkpoint[Magic.Length..]);
        var savedFingerprint = reader.String();
        if (savedFingerprint != Fingerprint)
        {
            throw new InvalidDataException($"The checkpoint was saved by model fingerprint {savedFingerprint}; this runtime is {Fingerprint}.");
        }

        var options = new SessionOptions
        {
            Method = reader.String(),
            BudgetRatio = reader.Double(),
            BudgetTokens = reader.Int32() is var tokens and >= 0 ? tokens : null,
            Seed = reader.Int32(),
            Task = reader.String(),
        };
        var stepsTaken = reader.Int32();
        var history = reader.UInt64();
        var seen = reader.Int64();
        Interlocked.Increment(ref _restored);
        return new FakeAgentSession(this, options, stepsTaken, history, seen);
    }

    public void Dispose()
    {
    }

    internal byte[] SaveDelta(FakeAgentSession session, int continues)
    {
        var header = new byte[DeltaMagic.Length + 4];
        DeltaMagic.CopyTo(header, 0);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(DeltaMagic.Length), continues);
        return [.. header, .. Save(session)];
    }

    internal byte[] Save(FakeAgentSession session)
    {
        var buffer = new List<byte>(Magic);
        void String(string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            Int32(bytes.Length);
            buffer.AddRange(bytes);
        }

        void Int32(int value)
        {
            var bytes = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
            buffer.AddRange(bytes);
        }

        void Int64(long value)
        {
            var bytes = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
            buffer.AddRange(bytes);
        }

        String(Fingerprint);
        String(session.Options.Method);
        Int64(BitConverter.DoubleToInt64Bits(session.Options.BudgetRatio));
        Int32(session.Options.BudgetTokens ?? -1);
        Int32(session.Options.Seed);
        String(session.Options.Task);
        Int32(session.StepsTaken);
        Int64((long)session.History);
        Int64(session.SeenTokens);
        return [.. buffer];
    }

    private ref struct SpanReader(ReadOnlySpan<byte> span)
    {
        private ReadOnlySpan<byte> _span = span;

        public string String()
        {
            var length = Int32();
            var value = Encoding.UTF8.GetString(_span[..length]);
            _span = _span[length..];
            return value;
        }

        public int Int32()
        {
            var value = BinaryPrimitives.ReadInt32LittleEndian(_span);
            _span = _span[4..];
            return value;
        }

        public long Int64()
        {
            var value = BinaryPrimitives.ReadInt64LittleEndian(_span);
            _span = _span[8..];
            return value;
        }

        public ulong UInt64() => (ulong)Int64();

        public double Double() => BitConverter.Int64BitsToDouble(Int64());
    }
}
