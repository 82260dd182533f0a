namespace StarKv.Grains.Actions;

/// <summary><c>StarKv:Actions</c>: how a step's answer is read.</summary>
public sealed class ActionParsingOptions
{
    public const string Section = "StarKv:Actions";

    /// <summary>
    /// How tuple coordinates (<c>start_box='(x,y)'</c>, with or without <c>&lt;|box_start|&gt;</c>) are read:
    /// <c>resized</c>, pixels of the resized image the model saw (UI-TARS-1.5, a Qwen2.5-VL model, the default), or
    /// <c>normalized1000</c>, 0–1000 on both axes (UI-TARS on Qwen2-VL). <c>&lt;point&gt;</c> coordinates are always pixels.
    /// </summary>
    public string TupleCoordinates { get; set; } = "resized";
}
