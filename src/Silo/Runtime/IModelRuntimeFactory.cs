using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Sessions;
using StarKv.GpuWorker.TinyModel;
using TorchSharp;
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
/// The factory registered by default: the Qwen2.5-VL runtime, from a Hugging Face checkpoint folder
/// (<c>Source = folder</c>) or the built-in tiny model written into <c>Path</c> (or a folder under the temp
/// directory) and loaded by the same loader. The device must exist: <c>cuda</c> on a CPU-only build is refused.
/// </summary>
public sealed class Qwen25VlRuntimeFactory : IModelRuntimeFactory
{
    public IModelRuntime Create(ModelSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var device = ResolveDevice(settings.Device);
        if (settings.Source is "folder" or "agent")
        {
            // The settings validator has checked the folder; the loader names whatever else is wrong in it.
            var folder = settings.Source == "agent" ? BuiltInAgentModel.Folder : settings.Path!;
            return Qwen25VlRuntime.LoadFolder(folder, settings.Id, device, ResolveDType(settings.DType), settings.Limits, settings.Scheduling);
        }

        return Qwen25VlRuntime.LoadBuiltInTiny(string.IsNullOrWhiteSpace(settings.Path) ? TinyModelFolder.DefaultPath() : settings.Path, device, settings.Limits, settings.Scheduling);
    }

    private static torch.Device ResolveDevice(string device)
    {
        if (device.StartsWith("cuda", StringComparison.Ordinal) && !torch.cuda.is_available())
        {
            throw new ModelRuntimeUnavailableException(
                $"StarKv:Model:Device is '{device}' but CUDA is not available: this build uses the CPU libtorch (build with -p:TorchBackend=cuda on a GPU node) or the node has no visible GPU.");
        }

        return new torch.Device(device);
    }

    private static torch.ScalarType ResolveDType(string dtype) => dtype switch
    {
        "bfloat16" => torch.ScalarType.BFloat16,
        "float16" => torch.ScalarType.Float16,
        _ => torch.ScalarType.Float32,
    };
}
