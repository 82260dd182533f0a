using System.ComponentModel.DataAnnotations;

namespace StarKv.Silo.Configuration;

/// <summary><c>StarKv:Storage</c>: where grain state and KV checkpoints go.</summary>
public sealed class StorageSettings
{
    public const string Section = "StarKv:Storage";

    /// <summary><c>filesystem</c> (under <see cref="Path"/>) or <c>azureblob</c>.</summary>
    [RegularExpression("^(filesystem|azureblob)$", ErrorMessage = "StarKv:Storage:Kind must be 'filesystem' or 'azureblob'.")]
    public string Kind { get; set; } = "filesystem";

    /// <summary>The folder of the filesystem storage, relative to the working directory unless absolute.</summary>
    public string Path { get; set; } = ".starkv";

    public string? AzureBlobConnectionString { get; set; }

    public string Container { get; set; } = "starkv-checkpoints";
}
