using System.Net;
using Microsoft.Extensions.Options;
using StarKv.Grains.Hosting;
using StarKv.Grains.Storage;

namespace StarKv.Silo.Configuration;

/// <summary>The rules across fields of <c>StarKv:Model</c> that attributes cannot say.</summary>
public sealed class ModelSettingsValidator : IValidateOptions<ModelSettings>
{
    public ValidateOptionsResult Validate(string? name, ModelSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Source == "agent")
        {
            return File.Exists(System.IO.Path.Combine(Runtime.BuiltInAgentModel.Folder, "config.json"))
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail($"StarKv:Model:Source is 'agent' but the built-in agent is missing from '{Runtime.BuiltInAgentModel.Folder}' (the build copies models/tiny-gui-agent beside the program).");
        }

        if (options.Source != "folder")
        {
            return ValidateOptionsResult.Success;
        }

        if (string.IsNullOrWhiteSpace(options.Path))
        {
            return ValidateOptionsResult.Fail("StarKv:Model:Path is required when StarKv:Model:Source is 'folder' (the model folder with config.json).");
        }

        if (!Directory.Exists(options.Path))
        {
            return ValidateOptionsResult.Fail($"StarKv:Model:Path '{options.Path}' is not a folder.");
        }

        return File.Exists(System.IO.Path.Combine(options.Path, "config.json"))
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"StarKv:Model:Path '{options.Path}' has no config.json; point it at a Hugging Face model folder.");
    }
}

/// <summary>Cross-field rules of <c>StarKv:Cluster</c>.</summary>
public sealed class ClusterSettingsValidator : IValidateOptions<ClusterSettings>
{
    public ValidateOptionsResult Validate(string? name, ClusterSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Clustering == "redis" && string.IsNullOrWhiteSpace(options.RedisConnectionString))
        {
            failures.Add("StarKv:Cluster:RedisConnectionString is required when StarKv:Cluster:Clustering is 'redis'.");
        }

        if (!string.IsNullOrEmpty(options.AdvertisedAddress) && !IPAddress.TryParse(options.AdvertisedAddress, out _))
        {
            failures.Add($"StarKv:Cluster:AdvertisedAddress '{options.AdvertisedAddress}' is not an IP address.");
        }

        if (options.SiloPort == options.GatewayPort)
        {
            failures.Add($"StarKv:Cluster:SiloPort and GatewayPort must differ; both are {options.SiloPort}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Cross-field rules of <c>StarKv:Storage</c>.</summary>
public sealed class StorageSettingsValidator : IValidateOptions<StorageSettings>
{
    public ValidateOptionsResult Validate(string? name, StorageSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Kind == "filesystem")
        {
            return File.Exists(options.ResolvedPath)
                ? ValidateOptionsResult.Fail($"StarKv:Storage:Path '{options.ResolvedPath}' is a file; it must name a folder (created if missing).")
                : ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.AzureBlobConnectionString))
        {
            failures.Add("StarKv:Storage:AzureBlobConnectionString is required when StarKv:Storage:Kind is 'azureblob'.");
        }

        if (StorageNames.ContainerNameProblem(options.Container) is { } problem)
        {
            failures.Add($"StarKv:Storage:Container: {problem}");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
