using System.ComponentModel.DataAnnotations;

namespace StarKv.Silo.Configuration;

/// <summary><c>StarKv:Model</c>: which model this silo serves and on which device.</summary>
public sealed class ModelSettings
{
    public const string Section = "StarKv:Model";

    /// <summary><c>tiny</c> (the built-in tiny model) or <c>folder</c> (a Hugging Face folder at <see cref="Path"/>).</summary>
    [RegularExpression("^(tiny|folder)$", ErrorMessage = "StarKv:Model:Source must be 'tiny' or 'folder'.")]
    public string Source { get; set; } = "tiny";

    /// <summary>The model folder (config.json, preprocessor_config.json, tokenizer.json, *.safetensors) when Source is 'folder'.</summary>
    public string? Path { get; set; }

    /// <summary>The id clients name the model by.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "StarKv:Model:Id must not be empty.")]
    public string Id { get; set; } = "tiny";

    /// <summary><c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    [RegularExpression("^(cpu|cuda|cuda:[0-9]+)$", ErrorMessage = "StarKv:Model:Device must be 'cpu', 'cuda' or 'cuda:N'.")]
    public string Device { get; set; } = "cpu";

    [RegularExpression("^(float32|bfloat16|float16)$", ErrorMessage = "StarKv:Model:DType must be 'float32', 'bfloat16' or 'float16'.")]
    public string DType { get; set; } = "float32";
}
