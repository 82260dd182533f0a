using StarKv.GpuWorker.Actions;

namespace StarKv.Eval.Core.Graders;

/// <summary>
/// A model's answer to one step, parsed with the runtime's UI-TARS parser, and the sizes needed to map its points.
/// <para>
/// Points stay in the pixels of the smart-resized image the model saw (the runtime's <c>smart_resize</c> gave
/// <see cref="ResizedWidth"/> × <see cref="ResizedHeight"/>): the response is parsed with an identity mapping of
/// that size, so a UI-TARS-1.5 point (integers) is kept exactly, and graders map it back without rounding:
/// relative <c>x / W_resized</c> (what the official scripts compare), or original pixels
/// <c>x · W_original / W_resized</c>. A point outside the image is clamped to its last pixel by the parser.
/// </para>
/// </summary>
public sealed record ModelPrediction
{
    private ModelPrediction(string text, ParsedResponse parsed, int originalWidth, int originalHeight, int resizedWidth, int resizedHeight)
    {
        Text = text;
        Parsed = parsed;
        OriginalWidth = originalWidth;
        OriginalHeight = originalHeight;
        ResizedWidth = resizedWidth;
        ResizedHeight = resizedHeight;
    }

    /// <summary>The model's raw reply.</summary>
    public string Text { get; }

    public ParsedResponse Parsed { get; }

    public int OriginalWidth { get; }

    public int OriginalHeight { get; }

    public int ResizedWidth { get; }

    public int ResizedHeight { get; }

    /// <summary>The first parsed action (the one every grader here compares), or null when parsing failed.</summary>
    public UiTarsAction? Action => Parsed.Actions.Count > 0 ? Parsed.Actions[0] : null;

    /// <summary>The verb of <see cref="Action"/>, or null.</summary>
    public string? Verb => Action?.Verb;

    /// <summary>
    /// Parses <paramref name="text"/>. <paramref name="tupleSpace"/> is the space of the <c>(x,y)</c> tuple notation:
    /// <see cref="CoordinateSpace.ResizedPixels"/> for UI-TARS-1.5 (its parser treats tuples of a Qwen2.5-VL model as
    /// resized pixels), <see cref="CoordinateSpace.Normalized1000"/> for UI-TARS v1. <c>&lt;point&gt;</c> is always
    /// resized pixels.
    /// </summary>
    public static ModelPrediction Parse(string text, int originalWidth, int originalHeight, int resizedWidth, int resizedHeight, CoordinateSpace tupleSpace)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parsed = UiTarsActionParser.Parse(text, CoordinateMapping.Identity(resizedWidth, resizedHeight), tupleSpace);
        return new ModelPrediction(text, parsed, originalWidth, originalHeight, resizedWidth, resizedHeight);
    }

    /// <summary>The point an action aims at in resized pixels: the target of clicks, presses and scrolls, the end of a drag.</summary>
    public static PixelPoint? PointOf(UiTarsAction? action) => action switch
    {
        ClickAction a => a.At,
        LeftDoubleAction a => a.At,
        RightSingleAction a => a.At,
        LongPressAction a => a.At,
        ScrollAction a => a.At,
        DragAction a => a.To,
        _ => null,
    };

    /// <summary>The first action's point in resized pixels, or null.</summary>
    public PixelPoint? ResizedPoint => PointOf(Action);

    /// <summary>A resized-pixel point as a fraction of the image (x / W_resized, y / H_resized).</summary>
    public (double X, double Y) Relative(PixelPoint point) => ((double)point.X / ResizedWidth, (double)point.Y / ResizedHeight);

    /// <summary>A resized-pixel point in pixels of an image of <paramref name="width"/> × <paramref name="height"/> (the original screenshot).</summary>
    public (double X, double Y) Scaled(PixelPoint point, double width, double height) =>
        (point.X * width / ResizedWidth, point.Y * height / ResizedHeight);

    /// <summary>The first action's point in original-screenshot pixels, or null.</summary>
    public (double X, double Y)? OriginalPoint => ResizedPoint is { } p ? Scaled(p, OriginalWidth, OriginalHeight) : null;

    /// <summary>
    /// Whether a resized-pixel point lies in a box given in pixels of a <paramref name="width"/> × <paramref name="height"/>
    /// image, edges inclusive. Compared cross-multiplied (<c>x1 · W_resized ≤ x · W ≤ x2 · W_resized</c>), which is the
    /// relative test <c>x1 / W ≤ x / W_resized ≤ x2 / W</c> without division, so integer cases are exact.
    /// </summary>
    public bool Inside(PixelPoint point, Benchmarks.BoxXyxy box, double width, double height)
    {
        double x = point.X * width, y = point.Y * height;
        return box.X1 * ResizedWidth <= x && x <= box.X2 * ResizedWidth && box.Y1 * ResizedHeight <= y && y <= box.Y2 * ResizedHeight;
    }

    /// <summary>A short text form of the first action with its point in original pixels, for results files.</summary>
    public string Describe()
    {
        if (Action is null)
        {
            return Parsed.Error?.ToString() ?? "no action";
        }

        var point = OriginalPoint is { } p ? FormattableString.Invariant($" at ({p.X:0.#}, {p.Y:0.#})") : "";
        return Action switch
        {
            TypeAction t => $"type '{t.Content}'",
            ScrollAction s => $"scroll {s.Direction.ToString().ToLowerInvariant()}{point}",
            HotkeyAction h => $"hotkey '{h.Key}'",
            OpenAppAction o => $"open_app '{o.AppName}'",
            FinishedAction f => $"finished '{f.Content}'",
            _ => Action.Verb + point,
        };
    }
}
