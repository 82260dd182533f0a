using Microsoft.Extensions.Options;

namespace StarKv.Grains.Storage;

/// <summary>Validates the named options instance <c>name</c> of <typeparamref name="TOptions"/> with a function that states the problem, or returns null.</summary>
internal sealed class OptionsProblemValidator<TOptions>(string? name, Func<TOptions, string?> problem) : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? name1, TOptions options)
    {
        if (!string.Equals(name ?? Options.DefaultName, name1 ?? Options.DefaultName, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        var found = problem(options);
        var label = string.IsNullOrEmpty(name) ? typeof(TOptions).Name : $"{typeof(TOptions).Name} '{name}'";
        return found is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail($"{label}: {found}");
    }
}
