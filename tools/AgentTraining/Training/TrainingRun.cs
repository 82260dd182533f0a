using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using StarKv.AgentTraining.Model;
using StarKv.AgentTraining.Samples;
using StarKv.Compression.Tensors;
using StarKv.GpuWorker.Checkpoints;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Text;
using StarKv.GpuWorker.TinyModel;
using StarKv.SyntheticGui.Tasks;
using TorchSharp;

namespace StarKv.AgentTraining.Training;

/// <summary>
/// A training run in a folder: builds (or resumes) the model, trains it step by step on the curriculum's tasks, saves
/// its state every <see cref="TrainingOptions.SaveEvery"/> steps (a restarted run resumes from the last state and sees
/// the same tasks), validates through agent sessions, and writes the log, the curve and the exported checkpoint
/// (<c>export/</c>, a Hugging Face folder).
/// </summary>
public sealed class TrainingRun : IDisposable
{
    /// <summary>Validation tasks come from this index of the training stream on; training never reaches it.</summary>
    public const long ValidationStreamStart = 1_000_000_000;

    /// <summary>The run's settings, command and commit, written when the run starts.</summary>
    public const string RunFileName = "run.json";

    private readonly TrainingOptions _options;
    private readonly string _tokenizerJson;
    private readonly Qwen2Tokenizer _tokenizer;
    private readonly Qwen25VlModel _model;
    private readonly AuxiliaryHeads _heads;
    private readonly AdamW _optimizer;
    private readonly TrainingLog _log;

    public TrainingRun(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        Directory.CreateDirectory(options.RunFolder);
        torch.set_num_threads(options.Threads);
        _log = new TrainingLog(options.RunFolder);
        var tokenizerPath = Path.Combine(options.RunFolder, "tokenizer.json");
        if (!File.Exists(tokenizerPath))
        {
            File.WriteAllText(tokenizerPath, TinyTokenizerFile.TokenizerJson(AgentModelDefinition.TokenizerCorpus()));
        }

        _tokenizerJson = File.ReadAllText(tokenizerPath);
        var runFile = Path.Combine(options.RunFolder, RunFileName);
        if (!File.Exists(runFile))
        {
            File.WriteAllText(runFile, Provenance().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }

        _tokenizer = Qwen2Tokenizer.Parse(_tokenizerJson);
        var config = AgentModelDefinition.Config();
        var statePath = Path.Combine(options.RunFolder, "state");
        var stateFile = Path.Combine(statePath, "state.json");
        if (File.Exists(stateFile))
        {
            using var saved = CheckpointLoader.Load(statePath, torch.ScalarType.Float32, torch.CPU);
            _model = Qwen25VlModel.Load(saved.Config, saved.Weights, torch.CPU, torch.ScalarType.Float32, trainable: true);
            StartStep = JsonNode.Parse(File.ReadAllText(stateFile))!["step"]!.GetValue<int>();
        }
        else
        {
            var weights = TinyModelFolder.Weights(config, options.Seed);
            _model = Qwen25VlModel.Load(config, weights, torch.CPU, torch.ScalarType.Float32, trainable: true);
            foreach (var tensor in weights.Values)
            {
                tensor.Dispose();
            }
        }

        _heads = new AuxiliaryHeads(config.Vision.OutHiddenSize, config.Text.HiddenSize, options.Seed);
        var parameters = _model.Weights.Select(w => (w.Name, w.Tensor)).Concat(_heads.Named).ToList();
        _optimizer = new AdamW(parameters, weightDecay: options.WeightDecay);
        if (StartStep > 0)
        {
            using var file = SafetensorsFile.Open(Path.Combine(statePath, "optimizer.safetensors"));
            var saved = file.TensorList.ToDictionary(t => t.Name, t => file.Read(t.Name));
            using (torch.no_grad())
            {
                foreach (var (name, tensor) in _heads.Named)
                {
                    if (saved.TryGetValue(name, out var head))
                    {
                        tensor.copy_(head); // a head added since the state was saved keeps its fresh initialisation
                    }
                }
            }

            _optimizer.Load(saved, StartStep);
            foreach (var tensor in saved.Values)
            {
                tensor.Dispose();
            }

            _log.TruncateAfter(StartStep - 1);
        }

        Builder = new SampleBuilder(_model.Config, _tokenizer);
    }

    /// <summary>The step the run starts (or resumes) at.</summary>
    public int StartStep { get; }

    public SampleBuilder Builder { get; }

    public Qwen25VlModel Model => _model;

    public string ExportFolder => Path.Combine(_options.RunFolder, "export");

    /// <summary>Runs from <see cref="StartStep"/> to the last step; <paramref name="onStep"/> sees each step's log entry.</summary>
    public void Train(Action<LogEntry> onStep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onStep);
        var trainer = new BatchTrainer(_model, _heads, _options.Weights, Builder.PrefixIds, _options.Eviction);
        for (var step = StartStep; step < _options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var watch = Stopwatch.StartNew();
            var suite = Curriculum.At(step, _options.Steps);
            var samples = Enumerable.Range(0, _options.BatchSize)
                .Select(i => Builder.Build(TaskGenerator.Generate(SuiteSeeds.For(SuiteSplit.Train, Curriculum.TaskIndex(step, _options.BatchSize, i)), suite)))
                .ToList();
            BatchLosses losses;
            var learningRate = _options.LearningRateAt(step);
            double norm;
            bool quietHeld;
            try
            {
                // No collection mid-step: a TorchSharp Scalar collected during a native call crashes at random.
                using var quiet = new QuietGcRegion();
                losses = trainer.Accumulate(samples);
                norm = _optimizer.Step(learningRate, _options.ClipNorm);
                quietHeld = quiet.Started && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion;
            }
            finally
            {
                foreach (var sample in samples)
                {
                    sample.Dispose();
                }
            }

            var entry = new LogEntry { Step = step, LearningRate = learningRate, Seconds = watch.Elapsed.TotalSeconds, Losses = losses, GradientNorm = norm, QuietGc = quietHeld };
            _log.Append(entry);
            onStep(entry);
            var done = step + 1;
            if (done % _options.SaveEvery == 0 || done == _options.Steps)
            {
                SaveState(done);
            }

            if (done % _options.ValidateEvery == 0 || done == _options.Steps)
            {
                var validation = Validate(done, cancellationToken);
                var validated = new LogEntry { Step = step, LearningRate = learningRate, Seconds = 0, Validation = validation };
                _log.Append(validated);
                onStep(validated);
                _log.PlotCurve();
            }
        }
    }

    /// <summary>Exports the current weights and measures them on the validation stream.</summary>
    public ValidationResult Validate(int step, CancellationToken cancellationToken)
    {
        Export(step);
        using var runtime = Qwen25VlRuntime.LoadFolder(ExportFolder, "agent", torch.CPU, torch.ScalarType.Float32);
        return SuiteValidation.Run(runtime, ValidationTasks(_options.ValidationTasks), cancellationToken);
    }

    /// <summary>Writes the current weights to <see cref="ExportFolder"/> with the run's provenance.</summary>
    public void Export(int step)
    {
        var training = Provenance();
        training["steps_done"] = step;
        AgentFolder.Write(ExportFolder, _model, _tokenizerJson, training);
    }

    private JsonObject Provenance() => new()
    {
        ["command"] = "dotnet run -c Release --project tools/AgentTraining -- train " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1).SkipWhile(a => a != "train").Skip(1)),
        ["seed"] = _options.Seed,
        ["steps"] = _options.Steps,
        ["batch_size"] = _options.BatchSize,
        ["learning_rate"] = _options.LearningRate,
        ["warmup_steps"] = _options.WarmupSteps,
        ["threads"] = _options.Threads,
        ["evict_share"] = _options.Eviction.Share,
        ["evict_ratios"] = new JsonArray(_options.Eviction.MinRatio, _options.Eviction.MaxRatio),
        ["task_seeds"] = "train split of the synthetic suite (even seeds): task i of step s is index s·batch + i; the curriculum is Curriculum.At(s, steps)",
        ["commit"] = GitCommit(),
        ["started_at"] = DateTimeOffset.UtcNow.ToString("u", CultureInfo.InvariantCulture),
    };

    /// <summary>The first <paramref name="perKind"/> tasks of each kind of the validation stream (default suite mix).</summary>
    public static IReadOnlyList<SuiteTask> ValidationTasks(int perKind)
    {
        var options = new SuiteOptions();
        var tasks = new List<SuiteTask>();
        var counts = new Dictionary<TaskKind, int>();
        for (var i = ValidationStreamStart; tasks.Count < 3 * perKind; i++)
        {
            var task = TaskGenerator.Generate(SuiteSeeds.For(SuiteSplit.Train, i), options);
            if (counts.GetValueOrDefault(task.Kind) < perKind)
            {
                counts[task.Kind] = counts.GetValueOrDefault(task.Kind) + 1;
                tasks.Add(task);
            }
        }

        return tasks;
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _heads.Dispose();
        _model.Dispose();
    }

    private void SaveState(int step)
    {
        var statePath = Path.Combine(_options.RunFolder, "state");
        var next = statePath + ".next";
        if (Directory.Exists(next))
        {
            Directory.Delete(next, recursive: true);
        }

        AgentFolder.Write(next, _model, _tokenizerJson);
        using (var scope = torch.NewDisposeScope())
        {
            var tensors = _heads.Named.Concat(_optimizer.State).Select(t => KeyValuePair.Create(t.Name, t.Tensor.detach())).ToList();
            SafetensorsWriter.Write(Path.Combine(next, "optimizer.safetensors"), tensors);
        }

        File.WriteAllText(Path.Combine(next, "state.json"), JsonSerializer.Serialize(new { step }));
        var previous = statePath + ".previous";
        if (Directory.Exists(previous))
        {
            Directory.Delete(previous, recursive: true);
        }

        if (Directory.Exists(statePath))
        {
            Directory.Move(statePath, previous);
        }

        Directory.Move(next, statePath);
        if (Directory.Exists(previous))
        {
            Directory.Delete(previous, recursive: true);
        }
    }

    private static string GitCommit()
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse HEAD") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 ? output : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}
