using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace StarKv.GpuWorker.Actions;

/// <summary>
/// Parses a UI-TARS-1.5 response into actions. It never throws on model output: anything malformed yields a
/// <see cref="ParsedResponse"/> whose <see cref="ParsedResponse.Error"/> names the problem and its offset.
/// </summary>
/// <remarks>
/// <para>Response: an optional <c>Reflection:</c> section, a <c>Thought:</c> (or <c>Action_Summary:</c>) section,
/// then <c>Action:</c> followed by one or more calls separated by whitespace (blank lines). Section headers count
/// only at the start of a line. A trailing <c>&lt;|im_end|&gt;</c> or <c>&lt;|endoftext|&gt;</c> is ignored.</para>
/// <para>Call: <c>verb(name='value', …)</c>; values are single- or double-quoted with the escapes
/// <c>\'</c>, <c>\"</c>, <c>\\</c>, <c>\n</c>, <c>\t</c> (any other backslash is kept literally).</para>
/// <para>Coordinates, by notation: <c>&lt;point&gt;x y&lt;/point&gt;</c> and <c>&lt;bbox&gt;x1 y1 x2 y2&lt;/bbox&gt;</c>
/// are pixels of the resized image (UI-TARS-1.5); <c>&lt;|box_start|&gt;(x,y)&lt;|box_end|&gt;</c>, bare
/// <c>(x,y)</c> and <c>(x1,y1,x2,y2)</c> are normalised to 0–1000 as older UI-TARS wrote them, unless the caller
/// passes <see cref="CoordinateSpace.ResizedPixels"/> (some UI-TARS-1.5 deployments write the tuple form in resized
/// pixels). Boxes stand for their centre.
/// Arguments <c>point</c>/<c>start_box</c>, <c>start_point</c>/<c>start_box</c> and <c>end_point</c>/<c>end_box</c>
/// are accepted interchangeably.</para>
/// </remarks>
public static partial class UiTarsActionParser
{
    /// <summary>The verbs the parser knows, in the order of the UI-TARS action space.</summary>
    public static IReadOnlyList<string> Verbs { get; } =
    [
        "click", "left_double", "right_single", "drag", "hotkey", "type", "scroll", "wait", "finished",
        "call_user", "long_press", "open_app", "press_home", "press_back",
    ];

    private static readonly string[] EndMarkers = ["<|im_end|>", "<|endoftext|>"];

    /// <summary>Parses a full response (<c>Thought: … Action: …</c>).</summary>
    /// <param name="text">The model's decoded response.</param>
    /// <param name="mapping">Maps the model's coordinates back to the original screenshot.</param>
    /// <param name="tupleSpace">The space of the tuple notations <c>(x,y)</c> and <c>&lt;|box_start|&gt;(x,y)&lt;|box_end|&gt;</c>.</param>
    public static ParsedResponse Parse(string text, CoordinateMapping mapping, CoordinateSpace tupleSpace = CoordinateSpace.Normalized1000)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        if (string.IsNullOrWhiteSpace(text))
        {
            return ParsedResponse.Failure(new ParseError("The response is empty.", 0));
        }

        var end = TrimEndMarkers(text);
        var headers = SectionHeader().Matches(text[..end]);
        Match? action = null;
        foreach (Match header in headers)
        {
            if (header.Groups["name"].Value == "Action")
            {
                action = header;
                break;
            }
        }

        if (action is null)
        {
            return ParsedResponse.Failure(new ParseError("The response has no 'Action:' section.", null));
        }

        string? thought = null;
        string? reflection = null;
        for (var i = 0; i < headers.Count && headers[i] != action; i++)
        {
            var contentStart = headers[i].Index + headers[i].Length;
            var contentEnd = headers[i + 1].Index;
            var content = text[contentStart..contentEnd].Trim();
            if (headers[i].Groups["name"].Value == "Reflection")
            {
                reflection = content;
            }
            else
            {
                thought = content;
            }
        }

        var actionsStart = action.Index + action.Length;
        var result = ParseActions(text, actionsStart, end, mapping, tupleSpace);
        return result with { Thought = thought, Reflection = reflection };
    }

    /// <summary>Parses the calls of an action section alone (the text after <c>Action:</c>).</summary>
    public static ParsedResponse ParseActions(string actionText, CoordinateMapping mapping, CoordinateSpace tupleSpace = CoordinateSpace.Normalized1000)
    {
        ArgumentNullException.ThrowIfNull(actionText);
        ArgumentNullException.ThrowIfNull(mapping);
        return ParseActions(actionText, 0, TrimEndMarkers(actionText), mapping, tupleSpace);
    }

    private static ParsedResponse ParseActions(string text, int start, int end, CoordinateMapping mapping, CoordinateSpace tupleSpace)
    {
        var reader = new CallReader(text, start, end);
        var points = new PointReader(mapping, tupleSpace);
        var actions = new List<UiTarsAction>();
        try
        {
            reader.SkipWhitespace();
            if (reader.AtEnd)
            {
                throw new ActionSyntaxException("The 'Action:' section is empty.", start);
            }

            while (!reader.AtEnd)
            {
                var call = reader.ReadCall();
                actions.Add(Build(call, points));
                reader.SkipWhitespace();
            }
        }
        catch (ActionSyntaxException e)
        {
            return ParsedResponse.Failure(new ParseError(e.Message, e.Offset));
        }

        return new ParsedResponse { Actions = actions };
    }

    private static int TrimEndMarkers(string text)
    {
        var end = text.Length;
        var trimmed = true;
        while (trimmed)
        {
            trimmed = false;
            while (end > 0 && char.IsWhiteSpace(text[end - 1]))
            {
                end--;
            }

            foreach (var marker in EndMarkers)
            {
                if (end >= marker.Length && string.CompareOrdinal(text, end - marker.Length, marker, 0, marker.Length) == 0)
                {
                    end -= marker.Length;
                    trimmed = true;
                }
            }
        }

        return end;
    }

    private static UiTarsAction Build(Call call, PointReader points)
    {
        var args = new ArgumentSet(call);
        UiTarsAction action = call.Verb switch
        {
            "click" => new ClickAction(args.Point(points, "point", "start_box")),
            "left_double" => new LeftDoubleAction(args.Point(points, "point", "start_box")),
            "right_single" => new RightSingleAction(args.Point(points, "point", "start_box")),
            "long_press" => new LongPressAction(args.Point(points, "point", "start_box")),
            "drag" => new DragAction(args.Point(points, "start_point", "start_box"), args.Point(points, "end_point", "end_box")),
            "hotkey" => new HotkeyAction(args.NonEmptyString("key")),
            "type" => new TypeAction(args.String("content")),
            "scroll" => new ScrollAction(args.Point(points, "point", "start_box"), args.Direction("direction")),
            "wait" => new WaitAction(),
            "finished" => new FinishedAction(args.OptionalString("content")),
            "call_user" => new CallUserAction(),
            "open_app" => new OpenAppAction(args.NonEmptyString("app_name")),
            "press_home" => new PressHomeAction(),
            "press_back" => new PressBackAction(),
            _ => throw new ActionSyntaxException(
                $"Unknown action '{call.Verb}'; expected one of {string.Join(", ", Verbs)}.", call.Offset),
        };
        args.EnsureAllUsed();
        return action;
    }

    [GeneratedRegex(@"^[ \t]*(?<name>Reflection|Thought|Action_Summary|Action)[ \t]*:", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex SectionHeader();

    private sealed record Argument(string Name, string Value, int Offset);

    private sealed record Call(string Verb, IReadOnlyList<Argument> Arguments, int Offset);

    private sealed class ActionSyntaxException(string message, int? offset) : Exception(message)
    {
        public int? Offset { get; } = offset;
    }

    /// <summary>The arguments of one call, each to be consumed exactly once.</summary>
    private sealed class ArgumentSet
    {
        private readonly Call _call;
        private readonly HashSet<string> _used = [];

        public ArgumentSet(Call call)
        {
            _call = call;
            var seen = new HashSet<string>();
            foreach (var argument in call.Arguments)
            {
                if (!seen.Add(argument.Name))
                {
                    throw new ActionSyntaxException($"{call.Verb} has argument '{argument.Name}' twice.", argument.Offset);
                }
            }
        }

        public PixelPoint Point(PointReader points, string name, string alias)
        {
            var argument = Find(name) ?? Find(alias)
                ?? throw new ActionSyntaxException($"{_call.Verb} needs argument '{name}'.", _call.Offset);
            return points.Read(argument, _call.Verb);
        }

        public string String(string name) =>
            Find(name)?.Value ?? throw new ActionSyntaxException($"{_call.Verb} needs argument '{name}'.", _call.Offset);

        public string NonEmptyString(string name)
        {
            var argument = Find(name) ?? throw new ActionSyntaxException($"{_call.Verb} needs argument '{name}'.", _call.Offset);
            return string.IsNullOrWhiteSpace(argument.Value)
                ? throw new ActionSyntaxException($"Argument '{name}' of {_call.Verb} is empty.", argument.Offset)
                : argument.Value;
        }

        public string? OptionalString(string name) => Find(name)?.Value;

        public ScrollDirection Direction(string name)
        {
            var argument = Find(name) ?? throw new ActionSyntaxException($"{_call.Verb} needs argument '{name}'.", _call.Offset);
            return argument.Value.Trim().ToUpperInvariant() switch
            {
                "UP" => ScrollDirection.Up,
                "DOWN" => ScrollDirection.Down,
                "LEFT" => ScrollDirection.Left,
                "RIGHT" => ScrollDirection.Right,
                _ => throw new ActionSyntaxException(
                    $"Argument '{name}' of {_call.Verb} is '{argument.Value}'; expected up, down, left or right.", argument.Offset),
            };
        }

        public void EnsureAllUsed()
        {
            foreach (var argument in _call.Arguments)
            {
                if (!_used.Contains(argument.Name))
                {
                    throw new ActionSyntaxException($"{_call.Verb} has no argument '{argument.Name}'.", argument.Offset);
                }
            }
        }

        private Argument? Find(string name)
        {
            foreach (var argument in _call.Arguments)
            {
                if (argument.Name == name)
                {
                    _used.Add(name);
                    return argument;
                }
            }

            return null;
        }
    }

    /// <summary>Reads the point notations inside a coordinate argument's value.</summary>
    private sealed class PointReader(CoordinateMapping mapping, CoordinateSpace tupleSpace)
    {
        public PixelPoint Read(Argument argument, string verb)
        {
            var value = argument.Value.Trim();
            if (TryTagged(value, "<point>", "</point>", 2, out var numbers) || TryTagged(value, "<bbox>", "</bbox>", 4, out numbers))
            {
                var (x, y) = Centre(numbers!);
                return mapping.FromResized(x, y);
            }

            var inner = value;
            if (inner.StartsWith("<|box_start|>", StringComparison.Ordinal) && inner.EndsWith("<|box_end|>", StringComparison.Ordinal))
            {
                inner = inner["<|box_start|>".Length..^"<|box_end|>".Length].Trim();
            }

            if (inner.Length >= 2 && inner[0] == '(' && inner[^1] == ')' && TryNumbers(inner[1..^1], out numbers) && numbers!.Length is 2 or 4)
            {
                var (x, y) = Centre(numbers);
                return tupleSpace == CoordinateSpace.ResizedPixels ? mapping.FromResized(x, y) : mapping.FromNormalized1000(x, y);
            }

            throw new ActionSyntaxException(
                $"Argument '{argument.Name}' of {verb} is '{argument.Value}', not a point: expected '<point>x y</point>', " +
                "'<bbox>x1 y1 x2 y2</bbox>' or '<|box_start|>(x,y)<|box_end|>'.", argument.Offset);
        }

        private static (double X, double Y) Centre(double[] numbers) =>
            numbers.Length == 2 ? (numbers[0], numbers[1]) : ((numbers[0] + numbers[2]) / 2, (numbers[1] + numbers[3]) / 2);

        private static bool TryTagged(string value, string open, string close, int count, out double[]? numbers)
        {
            numbers = null;
            return value.StartsWith(open, StringComparison.Ordinal)
                && value.EndsWith(close, StringComparison.Ordinal)
                && value.Length >= open.Length + close.Length
                && TryNumbers(value[open.Length..^close.Length], out numbers)
                && numbers!.Length == count;
        }

        private static bool TryNumbers(string text, out double[]? numbers)
        {
            numbers = null;
            var parts = text.Split([' ', ',', '\t'], StringSplitOptions.RemoveEmptyEntries);
            var values = new double[parts.Length];
            for (var i = 0; i < parts.Length; i++)
            {
                if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !double.IsFinite(values[i]))
                {
                    return false;
                }
            }

            numbers = values;
            return parts.Length > 0;
        }
    }

    /// <summary>A hand-written reader of <c>verb(name='value', …)</c> calls over a slice of the response.</summary>
    private sealed class CallReader(string text, int position, int end)
    {
        private int _position = position;

        public bool AtEnd => _position >= end;

        public void SkipWhitespace()
        {
            while (_position < end && char.IsWhiteSpace(text[_position]))
            {
                _position++;
            }
        }

        public Call ReadCall()
        {
            var offset = _position;
            var verb = ReadIdentifier("an action name");
            SkipWhitespace();
            if (AtEnd || text[_position] != '(')
            {
                throw new ActionSyntaxException($"Expected '(' after action '{verb}'.", _position);
            }

            var open = _position++;
            var arguments = new List<Argument>();
            SkipWhitespace();
            while (true)
            {
                if (AtEnd)
                {
                    throw new ActionSyntaxException($"Unbalanced parentheses: '(' of {verb} is never closed.", open);
                }

                if (text[_position] == ')')
                {
                    _position++;
                    return new Call(verb, arguments, offset);
                }

                var argumentOffset = _position;
                var name = ReadIdentifier($"an argument name of {verb}");
                SkipWhitespace();
                if (AtEnd || text[_position] != '=')
                {
                    throw new ActionSyntaxException($"Expected '=' after argument '{name}' of {verb}.", _position);
                }

                _position++;
                SkipWhitespace();
                var value = ReadQuoted(name, verb);
                arguments.Add(new Argument(name, value, argumentOffset));
                SkipWhitespace();
                if (!AtEnd && text[_position] == ',')
                {
                    _position++;
                    SkipWhitespace();
                }
                else if (!AtEnd && text[_position] != ')')
                {
                    throw new ActionSyntaxException(
                        $"Expected ',' or ')' after argument '{name}' of {verb} but found '{text[_position]}' (an unescaped quote inside the value?).",
                        _position);
                }
            }
        }

        private string ReadIdentifier(string what)
        {
            var start = _position;
            while (_position < end && (char.IsAsciiLetterOrDigit(text[_position]) || text[_position] == '_'))
            {
                _position++;
            }

            if (_position == start)
            {
                var found = AtEnd ? "the end of the response" : $"'{text[_position]}'";
                throw new ActionSyntaxException($"Expected {what} but found {found}.", start);
            }

            return text[start.._position];
        }

        private string ReadQuoted(string name, string verb)
        {
            if (AtEnd || (text[_position] != '\'' && text[_position] != '"'))
            {
                throw new ActionSyntaxException($"The value of argument '{name}' of {verb} must be a quoted string.", _position);
            }

            var quote = text[_position];
            var open = _position++;
            var value = new StringBuilder();
            while (_position < end)
            {
                var c = text[_position++];
                if (c == quote)
                {
                    return value.ToString();
                }

                if (c == '\\' && _position < end)
                {
                    var next = text[_position++];
                    value.Append(next switch
                    {
                        'n' => "\n",
                        't' => "\t",
                        '\\' or '\'' or '"' => next.ToString(),
                        _ => "\\" + next,
                    });
                }
                else
                {
                    value.Append(c);
                }
            }

            throw new ActionSyntaxException($"Unbalanced quotes: the value of argument '{name}' of {verb} opened with {quote} is never closed.", open);
        }
    }
}
