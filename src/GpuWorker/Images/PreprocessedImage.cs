using StarKv.GpuWorker.Actions;
using TorchSharp;

namespace StarKv.GpuWorker.Images;

/// <summary>
/// One screenshot ready for the vision encoder: its flattened patches (float32, on the requested device), the patch
/// grid, and the sizes before and after smart resize. Owns <see cref="Patches"/>; dispose it.
/// </summary>
public sealed class PreprocessedImage : IDisposable
{
    public PreprocessedImage(torch.Tensor patches, GridThw grid, int originalWidth, int originalHeight, int resizedWidth, int resizedHeight)
    {
        ArgumentNullException.ThrowIfNull(patches);
        Patches = patches;
        Grid = grid;
        OriginalWidth = originalWidth;
        OriginalHeight = originalHeight;
        ResizedWidth = resizedWidth;
        ResizedHeight = resizedHeight;
    }

    /// <summary><c>[grid_t·grid_h·grid_w, 3·temporal_patch·patch·patch]</c> (1176 columns for Qwen2.5-VL).</summary>
    public torch.Tensor Patches { get; }

    public GridThw Grid { get; }

    public int OriginalWidth { get; }

    public int OriginalHeight { get; }

    public int ResizedWidth { get; }

    public int ResizedHeight { get; }

    /// <summary>Maps the model's coordinates (pixels of the resized image) back to the original screenshot.</summary>
    public CoordinateMapping Mapping => CoordinateMapping.For(OriginalWidth, OriginalHeight, ResizedWidth, ResizedHeight);

    public void Dispose() => Patches.Dispose();
}
