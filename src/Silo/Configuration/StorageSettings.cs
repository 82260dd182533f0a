using System.ComponentModel.DataAnnotations;

namespace StarKv.Silo.Configuration;

/// <summary><c>StarKv:Storage</c>: where grain state and KV checkpoints go.</summary>
public sealed class StorageSettings
{
    public const string Section = "StarKv:Storage";

    /// <summary><c>filesystem</c> (under <see cref="Path"/>) or <c>azureblob</c>.</summary>
    [RegularExpression("^(filesystem|azureblob)$", ErrorMessage = "StarKv:Storage:Kind must be 'filesystem' or 'azureblob'.")]
    public string Kind { get; set; } = "filesystem";

    /// <summary>
    /// The folder of the filesystem storage (relative paths: to the working directory, which <c>dotnet run</c> keeps as
    /// the caller's). Empty: <see cref="DefaultPath"/>, outside any source tree.
    /// </summary>
    public string Path { get; set; } = "";

    /// <summary>The per-user state folder: <c>$XDG_DATA_HOME/starkv</c> or <c>~/.local/share/starkv</c> (on Linux).</summary>
    public static string DefaultPath
    {
        get
        {
            var data = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
            return System.IO.Path.Combine(string.IsNullOrEmpty(data) ? System.IO.Path.GetTempPath() : data, "starkv");
        }
    }

    /// <summary>The folder the filesystem storage uses, absolute.</summary>
    public string ResolvedPath => System.IO.Path.GetFullPath(string.IsNullOrWhiteSpace(Path) ? DefaultPath : Path);

    public string? AzureBlobConnectionString { get; set; }

    public string Container { get; set; } = "starkv-checkpoints";
}
