using Microsoft.Extensions.Options;
using StarKv.GpuWorker.Actions;
using StarKv.GpuWorker.Sessions;
using StarKv.Grains.Sessions;

namespace StarKv.Grains.Actions;

/// <summary>
/// Parses a step's answer with the UI-TARS-1.5 grammar (<see cref="UiTarsActionParser"/>), mapping coordinates from the
/// resized image the model saw back to the original screenshot. The first action of the answer is the step's action.
/// Tuple coordinates are read as <see cref="ActionParsingOptions.TupleCoordinates"/> says (resized-image pixels by default).
/// </summary>
public sealed class UiTarsStepActionParser : IStepActionParser
{
    private readonly CoordinateSpace _tupleSpace;

    public UiTarsStepActionParser()
        : this(Options.Create(new ActionParsingOptions()))
    {
    }

    public UiTarsStepActionParser(IOptions<ActionParsingOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _tupleSpace = options.Value.TupleCoordinates == "normalized1000" ? CoordinateSpace.Normalized1000 : CoordinateSpace.ResizedPixels;
    }

    public ActionParse Parse(StepOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (outcome.ScreenshotWidth <= 0 || outcome.ScreenshotHeight <= 0 || outcome.ResizedWidth <= 0 || outcome.ResizedHeight <= 0)
        {
            return new ActionParse(null, $"the step reported no image size ({outcome.ScreenshotWidth}×{outcome.ScreenshotHeight} → {outcome.ResizedWidth}×{outcome.ResizedHeight})");
        }

        var mapping = CoordinateMapping.For(outcome.ScreenshotWidth, outcome.ScreenshotHeight, outcome.ResizedWidth, outcome.ResizedHeight);
        var parsed = UiTarsActionParser.Parse(outcome.Text, mapping, _tupleSpace);
        if (!parsed.IsSuccess)
        {
            return new ActionParse(null, parsed.Error!.ToString());
        }

        if (parsed.Actions.Count == 0)
        {
            return new ActionParse(null, "the answer has no action");
        }

        return new ActionParse(ToRecord(parsed.Actions[0], parsed.Thought), null);
    }

    private static ParsedStepAction ToRecord(UiTarsAction action, string? thought)
    {
        var record = new ParsedStepAction { Name = action.Verb, Thought = thought };
        return action switch
        {
            ClickAction a => record with { X = a.At.X, Y = a.At.Y },
            LeftDoubleAction a => record with { X = a.At.X, Y = a.At.Y },
            RightSingleAction a => record with { X = a.At.X, Y = a.At.Y },
            LongPressAction a => record with { X = a.At.X, Y = a.At.Y },
            DragAction a => record with { X = a.From.X, Y = a.From.Y, EndX = a.To.X, EndY = a.To.Y },
            ScrollAction a => record with { X = a.At.X, Y = a.At.Y, Text = a.Direction.ToString().ToLowerInvariant() },
            HotkeyAction a => record with { Text = a.Key },
            TypeAction a => record with { Text = a.Content },
            FinishedAction a => record with { Text = a.Content },
            OpenAppAction a => record with { Text = a.AppName },
            _ => record,
        };
    }
}
