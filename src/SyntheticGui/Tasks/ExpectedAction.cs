using System.Globalization;
using StarKv.SyntheticGui.Screens;

namespace StarKv.SyntheticGui.Tasks;

/// <summary>The ground truth of one step: the action a correct agent takes.</summary>
public abstract record ExpectedAction
{
    /// <summary>The verb in the UI-TARS action grammar.</summary>
    public abstract string Verb { get; }

    /// <summary>
    /// The action in UI-TARS-1.5's grammar with coordinates in pixels of the image the model sees (the screenshot
    /// resized from <paramref name="width"/>×<paramref name="height"/> to <paramref name="resizedWidth"/>×<paramref name="resizedHeight"/>).
    /// </summary>
    public abstract string Format(int width, int height, int resizedWidth, int resizedHeight);

    /// <summary>A point of the original screenshot in resized-image pixels: the pixel whose area holds the point's centre.</summary>
    protected static string Point((int X, int Y) point, int width, int height, int resizedWidth, int resizedHeight)
    {
        var x = Math.Min(resizedWidth - 1, (int)Math.Floor((point.X + 0.5) * resizedWidth / width));
        var y = Math.Min(resizedHeight - 1, (int)Math.Floor((point.Y + 0.5) * resizedHeight / height));
        return string.Create(CultureInfo.InvariantCulture, $"'({x},{y})'");
    }
}

/// <summary>Click inside <paramref name="Box"/> (original screenshot pixels, edges inclusive).</summary>
public sealed record ClickExpected(PixelBox Box) : ExpectedAction
{
    public override string Verb => "click";

    public override string Format(int width, int height, int resizedWidth, int resizedHeight) =>
        $"click(start_box={Point(Box.Centre, width, height, resizedWidth, resizedHeight)})";
}

/// <summary>Type <paramref name="Content"/> into the focused field.</summary>
public sealed record TypeExpected(string Content) : ExpectedAction
{
    public override string Verb => "type";

    public override string Format(int width, int height, int resizedWidth, int resizedHeight) => $"type(content='{Content}')";
}

/// <summary>Scroll in <paramref name="Direction"/> (up, down, left, right) over <paramref name="Box"/>.</summary>
public sealed record ScrollExpected(string Direction, PixelBox Box) : ExpectedAction
{
    public override string Verb => "scroll";

    public override string Format(int width, int height, int resizedWidth, int resizedHeight) =>
        $"scroll(start_box={Point(Box.Centre, width, height, resizedWidth, resizedHeight)}, direction='{Direction}')";
}

/// <summary>Declare the task finished.</summary>
public sealed record FinishedExpected : ExpectedAction
{
    public const string Content = "done";

    public override string Verb => "finished";

    public override string Format(int width, int height, int resizedWidth, int resizedHeight) => $"finished(content='{Content}')";
}
