namespace StarKv.GpuWorker.Images;

/// <summary>What becomes of an image's alpha channel when it is turned into the RGB the vision encoder sees.</summary>
public enum AlphaHandling
{
    /// <summary>
    /// Keep the colour channels and drop alpha, as Hugging Face's <c>convert_to_rgb</c> does (Pillow's
    /// <c>image.convert("RGB")</c>): the processor UI-TARS-1.5 and Qwen2.5-VL are served with. The default.
    /// </summary>
    Drop,

    /// <summary>Composite onto a white background (<c>c·a/255 + 255·(1 − a/255)</c>, rounded), as qwen-vl-utils does.</summary>
    CompositeOnWhite,
}
