using System.Globalization;
using System.Text.RegularExpressions;
using StarKv.GpuWorker.Sessions;
using StarKv.Grains.Actions;
using StarKv.Grains.Sessions;

namespace StarKv.Grains.Tests.Fakes;

/// <summary>Parses the one action form <see cref="FakeAgentSession"/> writes (a click), mapping the point back to the original pixels.</summary>
public sealed partial class FakeActionParser : IStepActionParser
{
    public ActionParse Parse(StepOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var match = ClickPattern().Match(outcome.Text);
        if (!match.Success)
        {
            return new ActionParse(null, $"no click action in '{outcome.Text}'");
        }

        var x = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) * outcome.ScreenshotWidth / outcome.ResizedWidth;
        var y = double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) * outcome.ScreenshotHeight / outcome.ResizedHeight;
        return new ActionParse(new ParsedStepAction { Name = "click", X = x, Y = y }, null);
    }

    [GeneratedRegex(@"click\(point='<point>(\d+) (\d+)</point>'\)")]
    private static partial Regex ClickPattern();
}
