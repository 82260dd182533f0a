using StarKv.Compression;
using StarKv.Compression.Api;
using StarKv.GpuWorker.Checkpoints;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Runtime.Scheduling;
using StarKv.GpuWorker.Sessions;
using StarKv.GpuWorker.Text;
using StarKv.GpuWorker.TinyModel;
using TorchSharp;

namespace StarKv.GpuWorker.Runtime;

/// <summary>
/// A Qwen2.5-VL (UI-TARS-1.5) model loaded on one device with its tokenizer: the factory of <see cref="AgentSession"/>s.
/// The model's weights are read once; sessions share the model and own their KV caches. Steps of different sessions
/// on one runtime share the model under one <see cref="ExecutionGate"/> (the model is not written for concurrent
/// calls). How they share it is <see cref="Scheduling"/>: in the serial mode each step runs alone behind the gate; with
/// continuous batching (<see cref="StepSchedulerOptions.MaxBatchSize"/> above 1) the retained-cache steps of all sessions
/// run in the iterations of one <see cref="StepScheduler"/>, which decodes their next tokens in one batched forward pass
/// (re-prefilling sessions still run alone behind the gate).
/// </summary>
public sealed class Qwen25VlRuntime : IModelRuntime
{
    private readonly CompressorFactory _compressors = new CompressorFactory();
    private bool _disposed;

    internal Qwen25VlRuntime(string modelId, Qwen25VlModel model, Qwen2Tokenizer tokenizer, PromptLimits? limits = null, StepSchedulerOptions? scheduling = null)
    {
        Scheduling = scheduling ?? StepSchedulerOptions.Serial;
        Scheduling.Validate();
        ModelId = modelId;
        Limits = limits ?? PromptLimits.Default;
        Model = model;
        Tokenizer = tokenizer;
        Fingerprint = model.Config.Fingerprint();
        var text = model.Config.Text;
        using var probe = torch.empty(1, dtype: model.DType);
        KvBytesPerToken = (long)text.NumHiddenLayers * 2 * text.NumKeyValueHeads * text.HeadDim * probe.ElementSize;
        Scheduler = Scheduling.IsSerial ? null : new StepScheduler(model, ExecutionGate, Scheduling);
    }

    /// <summary>How the steps of this runtime's sessions share the model (serial unless the loader was told otherwise).</summary>
    public StepSchedulerOptions Scheduling { get; }

    /// <summary>The continuous-batching scheduler, or null in the serial mode.</summary>
    public StepScheduler? Scheduler { get; }

    public string ModelId { get; }

    /// <summary>The configuration's fingerprint (<see cref="Qwen25VlConfig.Fingerprint"/>).</summary>
    public string Fingerprint { get; }

    public string Device => Model.Device.ToString();

    /// <summary>layers · 2 (keys and values) · G · D · bytes per element of the model dtype.</summary>
    public long KvBytesPerToken { get; }

    public Qwen25VlModel Model { get; }

    /// <summary>The bounds on what a session's steps may make the model read (tokens after the chat template).</summary>
    public PromptLimits Limits { get; }

    /// <summary>Held by a session while it runs the model (a step, or re-encoding screenshots on restore).</summary>
    internal Lock ExecutionGate { get; } = new();

    public Qwen2Tokenizer Tokenizer { get; }

    public Qwen25VlConfig Config => Model.Config;

    /// <summary>
    /// Loads a Hugging Face checkpoint folder. The weights are read onto the CPU in <paramref name="dtype"/>, copied onto
    /// <paramref name="device"/> by the model, and the read copy is freed, so the device holds one copy only.
    /// </summary>
    public static Qwen25VlRuntime LoadFolder(
        string folder, string modelId, torch.Device device, torch.ScalarType dtype, PromptLimits? limits = null, StepSchedulerOptions? scheduling = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        ArgumentNullException.ThrowIfNull(device);
        Qwen25VlModel model;
        Qwen2Tokenizer tokenizer;
        using (var checkpoint = CheckpointLoader.Load(folder, dtype, torch.CPU))
        {
            model = Qwen25VlModel.Load(checkpoint.Config, checkpoint.Weights, device, dtype);
            tokenizer = checkpoint.Tokenizer;
        }

        return new Qwen25VlRuntime(modelId, model, tokenizer, limits, scheduling);
    }

    /// <summary>
    /// Loads the built-in tiny model (fp32), writing it into <paramref name="cacheFolder"/> first unless the folder
    /// already holds it intact; then the same loader as <see cref="LoadFolder"/>. Its id is "tiny".
    /// </summary>
    public static Qwen25VlRuntime LoadBuiltInTiny(string cacheFolder, torch.Device device, PromptLimits? limits = null, StepSchedulerOptions? scheduling = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(cacheFolder);
        TinyModelFolder.EnsureWritten(cacheFolder, TinyModelFolder.DefaultSeed);
        return LoadFolder(cacheFolder, "tiny", device, torch.ScalarType.Float32, limits, scheduling);
    }

    /// <exception cref="ArgumentException">An unknown method (the message lists the known ones), a budget outside (0, 1] or below one token, fewer than one new token, or a task longer than <see cref="Limits"/> allow.</exception>
    public IAgentSession CreateSession(SessionOptions options)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Validate(options);
        Limits.CheckTask(Tokenizer, options.Task);
        return new AgentSession(this, options, _compressors.Create(options.Method, new CompressorOptions { Seed = options.Seed }));
    }

    /// <summary>
    /// Opens a session that compresses with <paramref name="compressor"/> instead of the one
    /// <see cref="SessionOptions.Method"/> names (benchmarks, methods with non-default options). The options are
    /// still validated; a checkpoint of this session restores with the compressor its method names.
    /// </summary>
    public AgentSession CreateSession(SessionOptions options, IKvCompressor compressor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(compressor);
        Validate(options);
        return new AgentSession(this, options, compressor);
    }

    /// <exception cref="SessionCheckpointException">Another model's or format version's checkpoint, or damaged bytes.</exception>
    public IAgentSession RestoreSession(ReadOnlySpan<byte> checkpoint)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Restore([SessionCheckpoint.Read(checkpoint.ToArray(), Fingerprint, hashed: true)]);
    }

    /// <exception cref="SessionCheckpointException">Another model's or format version's checkpoint, damaged bytes, or a chain that does not start with a full checkpoint or has a gap.</exception>
    public IAgentSession RestoreSession(IReadOnlyList<ReadOnlyMemory<byte>> chain)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(chain);
        if (chain.Count == 0)
        {
            throw new SessionCheckpointException("A checkpoint chain holds at least its full checkpoint; this one is empty.");
        }

        var read = new List<SessionCheckpoint>(chain.Count);
        try
        {
            foreach (var bytes in chain)
            {
                read.Add(SessionCheckpoint.Read(bytes, Fingerprint, hashed: false));
            }
        }
        catch
        {
            read.ForEach(c => c.Dispose());
            throw;
        }

        return Restore(read);
    }

    private AgentSession Restore(List<SessionCheckpoint> chain)
    {
        var options = chain[0].Options;
        try
        {
            Validate(options);
        }
        catch (ArgumentException e)
        {
            foreach (var saved in chain)
            {
                saved.Dispose();
            }

            throw new SessionCheckpointException($"The session checkpoint holds invalid options: {e.Message}", e);
        }

        var compressor = _compressors.Create(options.Method, new CompressorOptions { Seed = options.Seed });
        return AgentSession.Restore(this, chain, compressor);
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            Scheduler?.Dispose();
            Model.Dispose();
        }
    }

    internal static void Validate(SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Method)
            || !CompressorFactory.Names.Contains(options.Method.Trim().ToLowerInvariant(), StringComparer.Ordinal))
        {
            throw new ArgumentException(
                $"Unknown compression method '{options.Method}'. Known methods: {string.Join(", ", CompressorFactory.Names)}.", nameof(options));
        }

        if (options.BudgetTokens is { } tokens)
        {
            if (tokens <= 0)
            {
                throw new ArgumentException($"BudgetTokens must be positive; got {tokens}.", nameof(options));
            }
        }
        else if (double.IsNaN(options.BudgetRatio) || options.BudgetRatio <= 0 || options.BudgetRatio > 1)
        {
            throw new ArgumentException($"BudgetRatio must be in (0, 1]; got {options.BudgetRatio}.", nameof(options));
        }

        if (options.MaxNewTokens < 1)
        {
            throw new ArgumentException($"MaxNewTokens must be at least 1; got {options.MaxNewTokens}.", nameof(options));
        }

        if (options.HistoryScreenshots < 1)
        {
            throw new ArgumentException($"HistoryScreenshots must be at least 1; got {options.HistoryScreenshots}.", nameof(options));
        }

        if (!Enum.IsDefined(options.Mode))
        {
            throw new ArgumentException($"Unknown session mode {(int)options.Mode}.", nameof(options));
        }

        ArgumentNullException.ThrowIfNull(options.Task, nameof(options));
    }
}
