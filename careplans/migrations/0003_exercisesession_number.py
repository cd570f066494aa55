# Sessions per day (Plinth issue 15): a mark is one prescribed session of an exercise-day.

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_clinic_contact_details'),
        ('careplans', '0002_outcome_pending_index'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='exercisesession',
            name='session_one_per_exercise_day',
        ),
        migrations.AddField(
            model_name='exercisesession',
            name='number',
            field=models.PositiveSmallIntegerField(default=1, help_text="Which of the day's prescribed sessions (1 for the first).", validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(6)]),
        ),
        migrations.AddConstraint(
            model_name='exercisesession',
            constraint=models.UniqueConstraint(fields=('plan_exercise', 'local_date', 'number'), name='session_one_per_exercise_day_number'),
        ),
        migrations.AddConstraint(
            model_name='exercisesession',
            constraint=models.CheckConstraint(condition=models.Q(('number__gte', 1), ('number__lte', 6)), name='session_number_range'),
        ),
    ]
