using System.ComponentModel.DataAnnotations;
using StarKv.GpuWorker.Runtime.Scheduling;
using StarKv.GpuWorker.Sessions;

namespace StarKv.Silo.Configuration;

/// <summary><c>StarKv:Model</c>: which model this silo serves and on which device.</summary>
public sealed class ModelSettings
{
    public const string Section = "StarKv:Model";

    private string? _id;

    /// <summary>
    /// <c>agent</c> (the built-in trained GUI agent shipped beside the program, <see cref="Runtime.BuiltInAgentModel"/>),
    /// <c>tiny</c> (the built-in tiny model with random weights, written by code; for tests) or <c>folder</c> (a Hugging
    /// Face folder at <see cref="Path"/>).
    /// </summary>
    [RegularExpression("^(agent|tiny|folder)$", ErrorMessage = "StarKv:Model:Source must be 'agent', 'tiny' or 'folder'.")]
    public string Source { get; set; } = "agent";

    /// <summary>The model folder (config.json, preprocessor_config.json, tokenizer.json, *.safetensors) when Source is 'folder'.</summary>
    public string? Path { get; set; }

    /// <summary>The id clients name the model by; by default <c>gui-agent</c>, <c>tiny</c>, or the model folder's name.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "StarKv:Model:Id must not be empty.")]
    public string Id
    {
        get => _id ?? Source switch
        {
            "agent" => Runtime.BuiltInAgentModel.Id,
            "folder" when !string.IsNullOrWhiteSpace(Path) => new DirectoryInfo(Path.TrimEnd('/', '\\')).Name,
            _ => "tiny",
        };
        set => _id = value;
    }

    /// <summary><c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    [RegularExpression("^(cpu|cuda|cuda:[0-9]+)$", ErrorMessage = "StarKv:Model:Device must be 'cpu', 'cuda' or 'cuda:N'.")]
    public string Device { get; set; } = "cpu";

    [RegularExpression("^(float32|bfloat16|float16)$", ErrorMessage = "StarKv:Model:DType must be 'float32', 'bfloat16' or 'float16'.")]
    public string DType { get; set; } = "float32";

    /// <summary>Most tokens a session's task may add to its turn, counted after the chat template.</summary>
    [Range(1, 1 << 20, ErrorMessage = "StarKv:Model:MaxTaskTokens must be in 1..1048576.")]
    public int MaxTaskTokens { get; set; } = PromptLimits.Default.MaxTaskTokens;

    /// <summary>Most tokens one step's instruction may add to its turn, counted after the chat template.</summary>
    [Range(1, 1 << 20, ErrorMessage = "StarKv:Model:MaxInstructionTokens must be in 1..1048576.")]
    public int MaxInstructionTokens { get; set; } = PromptLimits.Default.MaxInstructionTokens;

    /// <summary>Most tokens one step may prefill (text, screenshots, re-sent history).</summary>
    [Range(1, 1 << 24, ErrorMessage = "StarKv:Model:MaxTurnTokens must be in 1..16777216.")]
    public int MaxTurnTokens { get; set; } = PromptLimits.Default.MaxTurnTokens;

    /// <summary>
    /// Most steps the runtime runs in one iteration of continuous batching (their decode tokens in one batched forward
    /// pass); 1 is the serial mode, each step alone behind the runtime's lock.
    /// </summary>
    [Range(1, 4096, ErrorMessage = "StarKv:Model:MaxBatchSize must be in 1..4096.")]
    public int MaxBatchSize { get; set; } = StepSchedulerOptions.Batched.MaxBatchSize;

    /// <summary>Most tokens one iteration runs: a decode token per batched step plus the prefills admitted in it.</summary>
    [Range(1, 1 << 24, ErrorMessage = "StarKv:Model:MaxTokensPerIteration must be in 1..16777216.")]
    public int MaxTokensPerIteration { get; set; } = StepSchedulerOptions.Batched.MaxTokensPerIteration;

    /// <summary>The scheduling above, as the runtime takes it.</summary>
    public StepSchedulerOptions Scheduling => new() { MaxBatchSize = MaxBatchSize, MaxTokensPerIteration = MaxTokensPerIteration };

    /// <summary>The bounds above, as the runtime takes them.</summary>
    public PromptLimits Limits => new() { MaxTaskTokens = MaxTaskTokens, MaxInstructionTokens = MaxInstructionTokens, MaxTurnTokens = MaxTurnTokens };
}
