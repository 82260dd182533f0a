using StarKv.GpuWorker.Model;
using TorchSharp;

namespace StarKv.GpuWorker.Checkpoints;

/// <summary>Reads and verifies the weights of a Qwen2.5-VL checkpoint folder.</summary>
public static class CheckpointWeights
{
    /// <summary>The shape of every stored tensor under its canonical name, read from the headers only.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<long>> ReadShapes(string folder)
    {
        using var files = CheckpointFiles.Open(folder);
        return files.Shapes;
    }

    /// <summary>
    /// Verifies the folder's tensors against <paramref name="config"/> (every mismatch listed at once), then reads
    /// each tensor on its own, converts it to <paramref name="dtype"/> on <paramref name="device"/>, and returns
    /// them by canonical name. The tensors are detached from any dispose scope: the caller owns them.
    /// </summary>
    /// <exception cref="CheckpointMismatchException">Missing, unexpected or wrongly shaped tensors.</exception>
    /// <exception cref="CheckpointFormatException">A corrupt or truncated file, or a broken index.</exception>
    public static Dictionary<string, torch.Tensor> Load(string folder, Qwen25VlConfig config, torch.ScalarType dtype, torch.Device device)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(device);
        if (dtype is not (torch.ScalarType.Float32 or torch.ScalarType.BFloat16 or torch.ScalarType.Float16 or torch.ScalarType.Float64))
        {
            throw new ArgumentException($"Weights load as float32, bfloat16, float16 or float64, not {dtype}.", nameof(dtype));
        }

        using var files = CheckpointFiles.Open(folder);
        Qwen25VlCheckpointLayout.Verify(folder, config, files.Shapes);
        var expected = Qwen25VlCheckpointLayout.ExpectedShapes(config);
        var weights = new Dictionary<string, torch.Tensor>(StringComparer.Ordinal);
        try
        {
            using var noGrad = torch.no_grad();
            foreach (var name in files.NamesInFileOrder.Where(expected.ContainsKey))
            {
                using var scope = torch.NewDisposeScope();
                weights[name] = files.Read(name, dtype, device).DetachFromDisposeScope();
            }
        }
        catch
        {
            foreach (var tensor in weights.Values)
            {
                tensor.Dispose();
            }

            throw;
        }

        return weights;
    }
}
