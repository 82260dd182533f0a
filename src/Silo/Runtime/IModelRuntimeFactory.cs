using StarKv.GpuWorker.Sessions;
using StarKv.Silo.Configuration;

namespace StarKv.Silo.Runtime;

/// <summary>
/// Creates the silo's one model runtime from <c>StarKv:Model</c> (loads the weights onto the device). The silo calls it
/// once, when it starts; the runtime is then a singleton that every trajectory grain on the silo shares.
/// </summary>
public interface IModelRuntimeFactory
{
    IModelRuntime Create(ModelSettings settings);
}

/// <summary>The model runtime cannot be created in this build or on this machine.</summary>
public sealed class ModelRuntimeUnavailableException : Exception
{
    public ModelRuntimeUnavailableException()
    {
    }

    public ModelRuntimeUnavailableException(string message)
        : base(message)
    {
    }

    public ModelRuntimeUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The factory registered by default. The Qwen2.5-VL runtime (built-in tiny model and model folders) is not wired in
/// yet, so it refuses with a message that says so; hosts (and tests) register their own <see cref="IModelRuntimeFactory"/>.
/// </summary>
public sealed class BuiltInModelRuntimeFactory : IModelRuntimeFactory
{
    public IModelRuntime Create(ModelSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var what = settings.Source == "folder" ? $"the model folder '{settings.Path}'" : "the built-in tiny model";
        throw new ModelRuntimeUnavailableException(
            $"The model runtime for {what} (StarKv:Model:Source = '{settings.Source}', Device = '{settings.Device}') is not available in this build: " +
            "no Qwen2.5-VL IModelRuntimeFactory is registered yet.");
    }
}
